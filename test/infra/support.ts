/**
 * Synthesizes the real CDK app (infra/newsletter-app.ts, cdk-nag plugin included) in process for Template
 * assertions, and reads IAM policies per function.
 *
 * Bundling is skipped here (`aws:cdk:bundling-stacks: []`, what `cdk synth --exclusively` uses): it does not
 * change a template's properties, only the asset hashes, and it keeps each synthesis to seconds. The real bundles
 * are built and checked by synth.test.ts, which runs `cdk synth` itself.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { REPO_ROOT } from '../../infra/bundling.ts';
import { buildNewsletterApp, type NewsletterStacks } from '../../infra/newsletter-app.ts';
import type { ConfigFile, ContextKey } from '../../infra/settings.ts';

/** Every optional setting given, with values distinct from the defaults so a test can tell they were read. */
export const FULL_CONTEXT: Partial<Record<ContextKey, string>> = {
  sender: "Akira's ML News <news@example.com>",
  domain: 'example.com',
  postalAddress: '1 Main St, Springfield, USA',
  sendRate: '50',
  allowedOrigin: 'https://news.example.com',
  apiDomain: 'news.example.com',
  apiRateLimit: '250',
  apiBurstLimit: '600',
  subscribeRateLimit: '5',
  subscribeBurstLimit: '15',
  alarmEmail: 'ops@example.com',
};

/** Only what is required: no domain, no CORS origin, no fixed send rate. */
export const MINIMAL_CONTEXT: Partial<Record<ContextKey, string>> = {
  sender: 'news@example.org',
  postalAddress: '1 Main St, Springfield, USA',
};

export interface SynthesizedApp extends NewsletterStacks {
  app: App;
  statefulTemplate: Template;
  statelessTemplate: Template;
}

/** The context cdk.json gives every `cdk` command (feature flags), so the tests build what the CLI builds. */
export const CDK_JSON_CONTEXT: Record<string, unknown> = JSON.parse(readFileSync(path.join(REPO_ROOT, 'cdk.json'), 'utf8')).context ?? {};

/**
 * Synthesize the app with `context` over cdk.json's. No config file is read (an operator's newsletter.config.json
 * must not change what the tests see) unless `configFile` gives one.
 */
export function synthesize(context: Record<string, unknown>, configFile: ConfigFile | false = false): SynthesizedApp {
  const app = new App({ context: { ...CDK_JSON_CONTEXT, ...context, 'aws:cdk:bundling-stacks': [] } });
  const stacks = buildNewsletterApp(app, { configFile });
  return {
    app,
    ...stacks,
    statefulTemplate: Template.fromStack(stacks.stateful),
    statelessTemplate: Template.fromStack(stacks.stateless),
  };
}

/** The construct ids of the five functions in the stateless stack. */
export const FUNCTION_IDS = ['Subscribers', 'Archive', 'Send', 'Worker', 'SesEvents'] as const;
export type FunctionId = (typeof FUNCTION_IDS)[number];

type Resource = { Type: string; Properties: Record<string, any> };

/** Logical id of a function by construct id (`Worker` → `Worker1A2B3C4D`); fails when absent or ambiguous. */
export function functionLogicalId(template: Template, id: FunctionId): string {
  const ids = Object.keys(template.findResources('AWS::Lambda::Function')).filter((k) => new RegExp(`^${id}[0-9A-F]{8}$`).test(k));
  if (ids.length !== 1) throw new Error(`expected one function ${id}, found ${ids.join(', ') || 'none'}`);
  return ids[0]!;
}

export function functionProps(template: Template, id: FunctionId): Record<string, any> {
  return (template.findResources('AWS::Lambda::Function')[functionLogicalId(template, id)] as Resource).Properties;
}

export interface Statement {
  Effect: string;
  Action: string | string[];
  Resource: unknown;
  Condition?: unknown;
}

export const actionsOf = (s: Statement): string[] => (Array.isArray(s.Action) ? s.Action : [s.Action]);
export const resourcesOf = (s: Statement): unknown[] => (Array.isArray(s.Resource) ? s.Resource : [s.Resource]);

/** Every statement of every identity policy attached to the function's execution role. */
export function roleStatements(template: Template, id: FunctionId): Statement[] {
  const role = functionProps(template, id).Role as { 'Fn::GetAtt': [string, string] };
  const roleId = role['Fn::GetAtt'][0];
  const roleResource = template.findResources('AWS::IAM::Role')[roleId] as Resource;
  if (roleResource.Properties.ManagedPolicyArns?.length) throw new Error(`${id}: role has managed policies`);
  const inline = (roleResource.Properties.Policies ?? []).flatMap((p: any) => p.PolicyDocument.Statement);
  const attached = Object.values(template.findResources('AWS::IAM::Policy') as Record<string, Resource>)
    .filter((p) => (p.Properties.Roles as unknown[]).some((r) => JSON.stringify(r) === JSON.stringify({ Ref: roleId })))
    .flatMap((p) => p.Properties.PolicyDocument.Statement as Statement[]);
  return [...inline, ...attached];
}

/** The sorted, de-duplicated actions a function may call. */
export function roleActions(template: Template, id: FunctionId): string[] {
  return [...new Set(roleStatements(template, id).flatMap(actionsOf))].sort();
}

/** The statements granting one action. */
export function statementsFor(template: Template, id: FunctionId, action: string): Statement[] {
  return roleStatements(template, id).filter((s) => actionsOf(s).includes(action));
}
