/**
 * Builds the two stacks into an app. Shared by infra/app.ts (cdk synth/deploy) and the tests, so what is asserted
 * is what deploys, cdk-nag included.
 */
import { Validations, type App } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from './nag.ts';
import { StatefulStack, issuesBucketName } from './stateful-stack.ts';
import { StatelessStack } from './stateless-stack.ts';
import { CONFIG_FILE_CONTEXT_KEY, configFileFor, parseSettings, type ConfigFile, type ContextKey, type Settings } from './settings.ts';

export interface NewsletterStacks {
  settings: Settings;
  stateful: StatefulStack;
  stateless: StatelessStack;
}

export interface BuildOptions {
  /**
   * Settings from a config file, under the context's. Default: the file `-c config=<path>` names, else
   * newsletter.config.json in the working directory when it exists. `false`: none (tests, which must not depend on
   * an operator's file).
   */
  readonly configFile?: ConfigFile | false;
}

/**
 * Add the stateful and stateless stacks to `app`, reading settings from its context and the config file.
 * Stacks are environment-agnostic (no account or region, no lookups), so synthesis needs no credentials.
 * cdk-nag's AwsSolutions pack runs on every synth; an unsuppressed finding is a synth error.
 */
export function buildNewsletterApp(app: App, options: BuildOptions = {}): NewsletterStacks {
  const file = options.configFile === false ? undefined : (options.configFile ?? configFileFor(app.node.tryGetContext(CONFIG_FILE_CONTEXT_KEY)));
  const settings = parseSettings((key: ContextKey) => app.node.tryGetContext(key), file);
  const stateful = new StatefulStack(app, `${settings.stackPrefix}-Stateful`, {
    description: 'Newsletter data: subscribers table, issues bucket, token keys, SES configuration (retained on delete)',
    settings,
  });
  const stateless = new StatelessStack(app, `${settings.stackPrefix}-Stateless`, {
    description: 'Newsletter compute: functions, HTTP API, send queue, alarms',
    settings,
    table: stateful.table,
    bucketName: issuesBucketName(settings.stackPrefix),
    tokenSecret: stateful.tokenSecret,
    configurationSetName: stateful.configurationSet.configurationSetName,
    identityArns: stateful.identityArns,
    ...(stateful.apiDomainName ? { apiDomainName: stateful.apiDomainName } : {}),
    scheduleRole: stateful.scheduleRole,
  });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
  return { settings, stateful, stateless };
}
