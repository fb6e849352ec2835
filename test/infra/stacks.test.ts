/**
 * What the CDK app would deploy, asserted on its synthesized templates (issue 5): the stateful resources, the
 * functions, API, queue and alarms, least-privilege IAM per function, and cdk-nag. Two syntheses are shared by
 * every test: FULL (every setting given) and MINIMAL (no domain, no CORS origin, no fixed send rate).
 */
import { App, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { OUTPUT_SOURCES } from '../../bin/commands/aws-outputs.ts';
import { REPO_ROOT } from '../../infra/bundling.ts';
import { CONFIRMED_INDEX, TTL_ATTRIBUTE, tableDefinition } from '../../lambdas/adapters/dynamodb/table.ts';
import { parseTokenKeys } from '../../lambdas/adapters/secrets/token-keys.ts';
import { AwsSolutionsChecks } from '../../infra/nag.ts';
import {
  API_THROTTLE_DEFAULTS, FUNCTION_MEMORY_MB, ROUTED_SES_EVENT_TYPES, SES_DETAIL_TYPES, WORKER_TIMEOUT_SECONDS, workerSizing,
} from '../../infra/settings.ts';
import {
  ARCHIVE_PATHS, MAX_RECEIVE_COUNT, SES_EVENTS_RULE_RETRIES, SUBSCRIBE_ROUTE_KEY, SUBSCRIBER_PATHS,
} from '../../infra/stateless-stack.ts';
import {
  CDK_JSON_CONTEXT, FULL_CONTEXT, FUNCTION_IDS, MINIMAL_CONTEXT, actionsOf, functionLogicalId, functionProps, resourcesOf, roleActions,
  roleStatements, statementsFor, synthesize, type FunctionId, type Statement, type SynthesizedApp,
} from './support.ts';

let full: SynthesizedApp;
let minimal: SynthesizedApp;

beforeAll(() => {
  full = synthesize(FULL_CONTEXT);
  minimal = synthesize(MINIMAL_CONTEXT);
}, 180_000);

type Resource = { Type: string; Properties: Record<string, any>; DeletionPolicy?: string; UpdateReplacePolicy?: string };
const only = (template: Template, type: string): [string, Resource] => {
  const entries = Object.entries(template.findResources(type)) as Array<[string, Resource]>;
  expect(entries, type).toHaveLength(1);
  return entries[0]!;
};
const denyUnlessTls = (statements: Statement[]) =>
  statements.some(
    (s) => s.Effect === 'Deny' && JSON.stringify(s.Condition) === JSON.stringify({ Bool: { 'aws:SecureTransport': 'false' } }),
  );
const allTemplates = () => [full.statefulTemplate, full.statelessTemplate, minimal.statefulTemplate, minimal.statelessTemplate];

describe('the app', () => {
  it('synthesizes both configurations without a warning or error annotation (no deprecated API, no missing flag)', () => {
    for (const app of [full, minimal]) {
      for (const stack of [app.stateful, app.stateless]) {
        const a = Annotations.fromStack(stack);
        const found = [...a.findWarning('*', Match.anyValue()), ...a.findError('*', Match.anyValue())];
        expect(found.map((m) => `${m.id}: ${String(m.entry.data).slice(0, 160)}`), stack.stackName).toEqual([]);
      }
    }
  });
});

describe('stateful stack', () => {
  it('DynamoDB table: on demand, point-in-time recovery, TTL attribute, the confirmed GSI, retained', () => {
    const [, table] = only(full.statefulTemplate, 'AWS::DynamoDB::Table');
    const def = tableDefinition('x');
    expect(table.Properties).toMatchObject({
      BillingMode: 'PAY_PER_REQUEST',
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      TimeToLiveSpecification: { AttributeName: TTL_ATTRIBUTE, Enabled: true },
      KeySchema: def.KeySchema,
    });
    expect(table.Properties.GlobalSecondaryIndexes).toEqual([
      expect.objectContaining({ IndexName: CONFIRMED_INDEX, KeySchema: def.GlobalSecondaryIndexes![0]!.KeySchema, Projection: def.GlobalSecondaryIndexes![0]!.Projection }),
    ]);
    // Fan-out reads the address, the name and the import's custom attributes ({{attributes.x}}) from the index.
    const projection = table.Properties.GlobalSecondaryIndexes[0].Projection;
    expect(projection.ProjectionType).toBe('INCLUDE');
    expect([...projection.NonKeyAttributes].sort()).toEqual(['attributes', 'email', 'name']);
    // Provisioned-capacity settings would contradict on-demand billing.
    expect(table.Properties.ProvisionedThroughput).toBeUndefined();
    expect(table.DeletionPolicy).toBe('Retain');
    expect(table.UpdateReplacePolicy).toBe('Retain');
  });

  it('S3 bucket: encrypted, public access blocked, SSL enforced by policy, retained', () => {
    const [bucketId, bucket] = only(full.statefulTemplate, 'AWS::S3::Bucket');
    expect(bucket.Properties.BucketEncryption.ServerSideEncryptionConfiguration[0].ServerSideEncryptionByDefault.SSEAlgorithm).toMatch(
      /^(AES256|aws:kms)$/,
    );
    expect(bucket.Properties.PublicAccessBlockConfiguration).toEqual({
      BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true,
    });
    expect(bucket.DeletionPolicy).toBe('Retain');
    const [, policy] = only(full.statefulTemplate, 'AWS::S3::BucketPolicy');
    expect(policy.Properties.Bucket).toEqual({ Ref: bucketId });
    expect(denyUnlessTls(policy.Properties.PolicyDocument.Statement)).toBe(true);
  });

  it('token secret: generated in Secrets Manager, retained, in a shape the token loader reads', () => {
    const [, secret] = only(full.statefulTemplate, 'AWS::SecretsManager::Secret');
    expect(secret.DeletionPolicy).toBe('Retain');
    expect(secret.Properties.SecretString).toBeUndefined(); // never a value in the template
    const gen = secret.Properties.GenerateSecretString;
    expect(gen.PasswordLength).toBeGreaterThanOrEqual(32);
    // What Secrets Manager will store: the template plus one generated string under GenerateStringKey.
    const stored = JSON.stringify({ ...JSON.parse(gen.SecretStringTemplate), [gen.GenerateStringKey]: 'x'.repeat(gen.PasswordLength) });
    const keys = parseTokenKeys(stored, 'generated secret');
    expect(keys.keys[keys.current]).toHaveLength(gen.PasswordLength);
  });

  it('SES configuration set sends BOUNCE, COMPLAINT, DELIVERY, REJECT and SEND to the default EventBridge bus, no SNS topic', () => {
    for (const app of [full, minimal]) {
      const [setId] = only(app.statefulTemplate, 'AWS::SES::ConfigurationSet');
      const [, dest] = only(app.statefulTemplate, 'AWS::SES::ConfigurationSetEventDestination');
      expect(dest.Properties.ConfigurationSetName).toEqual({ Ref: setId });
      expect(dest.Properties.EventDestination.Enabled).toBe(true);
      expect([...dest.Properties.EventDestination.MatchingEventTypes].sort()).toEqual(['bounce', 'complaint', 'delivery', 'reject', 'send']);
      expect(dest.Properties.EventDestination.SnsDestination).toBeUndefined();
      const busArn = JSON.stringify(dest.Properties.EventDestination.EventBridgeDestination.EventBusArn);
      expect(busArn).toContain(':events:');
      expect(busArn).toContain(':event-bus/default');
      app.statefulTemplate.resourceCountIs('AWS::SNS::Topic', 0);
    }
  });

  it('with a domain: an identity with Easy DKIM and a custom MAIL FROM, and outputs for every DNS record incl. DMARC', () => {
    const [, identity] = only(full.statefulTemplate, 'AWS::SES::EmailIdentity');
    expect(identity.Properties).toMatchObject({
      EmailIdentity: 'example.com',
      DkimAttributes: { SigningEnabled: true },
      DkimSigningAttributes: { NextSigningKeyLength: 'RSA_2048_BIT' },
      MailFromAttributes: { MailFromDomain: 'mail.example.com' },
    });
    expect(identity.Properties.DkimSigningAttributes.DomainSigningPrivateKey).toBeUndefined(); // Easy DKIM, not BYODKIM
    const outputs = full.statefulTemplate.findOutputs('*');
    for (const i of [1, 2, 3]) {
      expect(JSON.stringify(outputs[`DkimRecord${i}`]!.Value)).toContain(`DkimDNSTokenName${i}`);
    }
    expect(JSON.stringify(outputs.MailFromMxRecord!.Value)).toMatch(/mail\.example\.com MX 10 feedback-smtp\./);
    expect(outputs.MailFromTxtRecord!.Value).toContain('v=spf1 include:amazonses.com');
    expect(outputs.DmarcRecord!.Value).toMatch(/^_dmarc\.example\.com TXT "v=DMARC1; p=none;/);
  });

  it('without a domain: no identity resource and no DNS outputs', () => {
    minimal.statefulTemplate.resourceCountIs('AWS::SES::EmailIdentity', 0);
    const names = Object.keys(minimal.statefulTemplate.findOutputs('*'));
    expect(names.filter((n) => /Dkim|MailFrom|Dmarc/.test(n))).toEqual([]);
    expect(names).toEqual(
      expect.arrayContaining(['TableName', 'IssueBucketName', 'TokenSecretArn', 'ConfigurationSetName', 'ScheduleGroupName', 'ScheduleRoleArn']),
    );
    expect(names.filter((n) => n.startsWith('Api'))).toEqual([]);
  });
});

describe('stateless stack: functions', () => {
  it('has the five functions, each ARM64 on Node.js 20 or later with X-Ray, without source maps to parse at init', () => {
    const fns = full.statelessTemplate.findResources('AWS::Lambda::Function');
    expect(Object.keys(fns)).toHaveLength(FUNCTION_IDS.length);
    for (const id of FUNCTION_IDS) {
      const p = functionProps(full.statelessTemplate, id);
      expect(p.Architectures, id).toEqual(['arm64']);
      const major = Number(/^nodejs(\d+)\.x$/.exec(p.Runtime)?.[1]);
      expect(major, `${id} ${p.Runtime}`).toBeGreaterThanOrEqual(20);
      expect(p.Handler, id).toBe('index.handler');
      expect(p.TracingConfig, id).toEqual({ Mode: 'Active' });
      // Maps of the minified bundles were megabytes and parsing them slowed init (infra/bundling.ts).
      expect(p.Environment.Variables.NODE_OPTIONS, id).toBeUndefined();
      // Each function's own `service` in logs and metric dimensions.
      expect(p.Environment.Variables.POWERTOOLS_SERVICE_NAME, id).toMatch(/^newsletter-[a-z-]+$/);
    }
    const services = FUNCTION_IDS.map((id) => functionProps(full.statelessTemplate, id).Environment.Variables.POWERTOOLS_SERVICE_NAME);
    expect(new Set(services).size).toBe(FUNCTION_IDS.length);
    // Scheduled sends name the send function by ARN: its name is fixed, so they survive a replacement of this stack.
    expect(functionProps(full.statelessTemplate, 'Send').FunctionName).toBe('Newsletter-send');
    for (const id of FUNCTION_IDS.filter((f) => f !== 'Send')) {
      expect(functionProps(full.statelessTemplate, id).FunctionName, id).toBeUndefined();
    }
  });

  it('sizes memory from FUNCTION_MEMORY_MB: the I/O-only worker at 256 MB, the rendering send function at 1 GB', () => {
    const key = { Subscribers: 'subscribers', Archive: 'archive', Send: 'send', Worker: 'worker', SesEvents: 'sesEvents' } as const;
    for (const id of FUNCTION_IDS) expect(functionProps(full.statelessTemplate, id).MemorySize, id).toBe(FUNCTION_MEMORY_MB[key[id]]);
    expect(functionProps(full.statelessTemplate, 'Worker').MemorySize).toBe(256);
    expect(functionProps(minimal.statelessTemplate, 'Worker').MemorySize).toBe(256);
    expect(functionProps(full.statelessTemplate, 'Send').MemorySize).toBe(1024);
  });

  it('functions that serve pages carry the templates at TEMPLATES_DIR=/var/task/templates; send (email templates bundled as modules) and the worker do not', () => {
    for (const id of ['Subscribers', 'Archive'] as const) {
      expect(functionProps(full.statelessTemplate, id).Environment.Variables.TEMPLATES_DIR, id).toBe('/var/task/templates');
    }
    for (const id of ['Send', 'Worker', 'SesEvents'] as const) {
      expect(functionProps(full.statelessTemplate, id).Environment.Variables.TEMPLATES_DIR, id).toBeUndefined();
    }
  });

  it('passes the settings from context to the functions', () => {
    const send = functionProps(full.statelessTemplate, 'Send').Environment.Variables;
    expect(send).toMatchObject({ SENDER: FULL_CONTEXT.sender, POSTAL_ADDRESS: FULL_CONTEXT.postalAddress, MAX_SEND_RATE: '50' });
    expect(functionProps(full.statelessTemplate, 'Subscribers').Environment.Variables.ALLOWED_ORIGIN).toBe(FULL_CONTEXT.allowedOrigin);
    expect(functionProps(full.statelessTemplate, 'Archive').Environment.Variables.SENDER).toBe(FULL_CONTEXT.sender);
    expect(functionProps(minimal.statelessTemplate, 'Send').Environment.Variables.MAX_SEND_RATE).toBeUndefined();
    expect(functionProps(minimal.statelessTemplate, 'Subscribers').Environment.Variables.ALLOWED_ORIGIN).toBeUndefined();
  });
});

describe('stateless stack: SES events rule', () => {
  const rule = (app: SynthesizedApp) => only(app.statelessTemplate, 'AWS::Events::Rule')[1].Properties;

  it('routes Bounce, Complaint, Reject and Send of this configuration set from the default bus by detail-type, never Delivery', () => {
    const p = rule(full);
    expect(p.EventBusName).toBeUndefined(); // the default bus
    expect(p.State).toBe('ENABLED');
    expect(p.EventPattern.source).toEqual(['aws.ses']);
    // The strings of AWS's EventBridge reference for SES events, written out here so a typo in settings.ts fails.
    expect([...p.EventPattern['detail-type']].sort()).toEqual(['Email Bounced', 'Email Complaint Received', 'Email Rejected', 'Email Sent']);
    expect(p.EventPattern['detail-type']).not.toContain('Email Delivered');
    expect(p.EventPattern.detail.eventType).toBeUndefined();
    expect([...ROUTED_SES_EVENT_TYPES].map((t) => SES_DETAIL_TYPES[t]).sort()).toEqual([...p.EventPattern['detail-type']].sort());
    // Only events of our configuration set: its name is imported from the stateful stack.
    const sets = p.EventPattern.detail.mail.tags['ses:configuration-set'];
    expect(sets).toHaveLength(1);
    expect(JSON.stringify(sets[0])).toContain('Fn::ImportValue');
  });

  it('targets the SES events function with retries and a DLQ, and the function lets only EventBridge invoke it', () => {
    for (const app of [full, minimal]) {
      const p = rule(app);
      expect(p.Targets).toHaveLength(1);
      const target = p.Targets[0];
      const fnId = functionLogicalId(app.statelessTemplate, 'SesEvents');
      expect(target.Arn).toEqual({ 'Fn::GetAtt': [fnId, 'Arn'] });
      expect(target.RetryPolicy).toEqual({ MaximumRetryAttempts: SES_EVENTS_RULE_RETRIES, MaximumEventAgeInSeconds: 86_400 });
      const dlqId = target.DeadLetterConfig.Arn['Fn::GetAtt'][0];
      const dlq = app.statelessTemplate.findResources('AWS::SQS::Queue')[dlqId] as Resource;
      expect(dlq.Properties.KmsMasterKeyId ?? dlq.Properties.SqsManagedSseEnabled).toBeTruthy();
      // The DLQ admits EventBridge sends from this rule only.
      const policies = Object.values(app.statelessTemplate.findResources('AWS::SQS::QueuePolicy') as Record<string, Resource>).filter((q) =>
        JSON.stringify(q.Properties.Queues).includes(dlqId),
      );
      const allows = policies.flatMap((q) => q.Properties.PolicyDocument.Statement as Array<Statement & { Principal?: any }>).filter((s) => s.Effect === 'Allow');
      expect(allows).toHaveLength(1);
      expect(allows[0]!.Principal).toEqual({ Service: 'events.amazonaws.com' });
      expect(actionsOf(allows[0]!)).toEqual(['sqs:SendMessage']);
      expect(JSON.stringify(allows[0]!.Condition)).toContain('aws:SourceArn');
      // Lambda's own async retries end in the same DLQ, which the SesEventsDlqDepth alarm watches.
      const invokeConfig = only(app.statelessTemplate, 'AWS::Lambda::EventInvokeConfig')[1].Properties;
      expect(invokeConfig.DestinationConfig.OnFailure.Destination).toEqual({ 'Fn::GetAtt': [dlqId, 'Arn'] });
      const permissions = Object.values(app.statelessTemplate.findResources('AWS::Lambda::Permission') as Record<string, Resource>).filter(
        (r) => JSON.stringify(r.Properties.FunctionName).includes(fnId),
      );
      expect(permissions.map((r) => r.Properties.Principal)).toEqual(['events.amazonaws.com']);
      app.statelessTemplate.resourceCountIs('AWS::SNS::Subscription', app === full ? 1 : 0); // only the alarm email
    }
  });
});

describe('stateless stack: HTTP API', () => {
  const routes = (t: Template) =>
    Object.values(t.findResources('AWS::ApiGatewayV2::Route') as Record<string, Resource>).map((r) => ({
      key: r.Properties.RouteKey as string,
      target: r.Properties.Target,
    }));
  const integrationFunction = (t: Template, target: unknown): string => {
    const integrationId = (JSON.stringify(target).match(/"Ref":"([^"]+)"/) ?? [])[1]!;
    const integration = t.findResources('AWS::ApiGatewayV2::Integration')[integrationId] as Resource;
    return JSON.stringify(integration.Properties.IntegrationUri);
  };

  it('routes subscribe, confirm and unsubscribe to the subscribers function', () => {
    const all = routes(full.statelessTemplate);
    const subscribers = functionLogicalId(full.statelessTemplate, 'Subscribers');
    for (const path of ['/subscribe', '/confirm', '/unsubscribe']) {
      const route = all.find((r) => r.key.endsWith(` ${path}`));
      expect(route, path).toBeDefined();
      expect(integrationFunction(full.statelessTemplate, route!.target)).toContain(subscribers);
    }
    expect(SUBSCRIBER_PATHS).toEqual(expect.arrayContaining(['/subscribe', '/confirm', '/unsubscribe']));
  });

  it('routes /archive, /archive/feed.xml and /archive/{slug} (any method: the handler answers 405) to the archive function', () => {
    const all = routes(full.statelessTemplate);
    const archive = functionLogicalId(full.statelessTemplate, 'Archive');
    for (const path of ['/archive', '/archive/feed.xml', '/archive/{slug}']) {
      const route = all.find((r) => r.key === `ANY ${path}`);
      expect(route, path).toBeDefined();
      expect(integrationFunction(full.statelessTemplate, route!.target)).toContain(archive);
    }
    const archiveKeys = all.filter((r) => r.key.includes('/archive')).map((r) => r.key);
    expect(archiveKeys.sort()).toEqual(['ANY /archive', 'ANY /archive/feed.xml', 'ANY /archive/{slug}']);
    expect(ARCHIVE_PATHS).toHaveLength(3);
  });

  it('sends every other path to the subscribers function ($default), whose router answers its own 404 page', () => {
    for (const app of [full, minimal]) {
      const all = routes(app.statelessTemplate);
      const fallback = all.filter((r) => r.key === '$default');
      expect(fallback).toHaveLength(1);
      expect(integrationFunction(app.statelessTemplate, fallback[0]!.target)).toContain(functionLogicalId(app.statelessTemplate, 'Subscribers'));
      // Nothing else is routed: the paths above, $default, and no catch-all proxy.
      expect(all.map((r) => r.key).filter((k) => k.includes('{proxy+}'))).toEqual([]);
      expect(all).toHaveLength(SUBSCRIBER_PATHS.length + ARCHIVE_PATHS.length + 1);
    }
  });

  it('the send function is not reachable from the API: no integration, no API Gateway permission, no function URL', () => {
    const t = full.statelessTemplate;
    const send = functionLogicalId(t, 'Send');
    for (const [, integration] of Object.entries(t.findResources('AWS::ApiGatewayV2::Integration') as Record<string, Resource>)) {
      expect(JSON.stringify(integration.Properties)).not.toContain(send);
    }
    const permissions = Object.values(t.findResources('AWS::Lambda::Permission') as Record<string, Resource>);
    expect(permissions.filter((p) => JSON.stringify(p.Properties.FunctionName).includes(send))).toEqual([]);
    t.resourceCountIs('AWS::Lambda::Url', 0);
    // The operator CLI finds it by name.
    expect(t.findOutputs('SendFunctionName').SendFunctionName!.Value).toEqual({ Ref: send });
  });

  it('throttles the stage with rate and burst from context, and /subscribe (each POST may send an email) lower', () => {
    const [stageId, stage] = only(full.statelessTemplate, 'AWS::ApiGatewayV2::Stage');
    expect(stage.Properties.DefaultRouteSettings).toMatchObject({ ThrottlingRateLimit: 250, ThrottlingBurstLimit: 600 });
    expect(stage.Properties.RouteSettings).toEqual({ [SUBSCRIBE_ROUTE_KEY]: { ThrottlingRateLimit: 5, ThrottlingBurstLimit: 15 } });
    expect(stage.Properties.AccessLogSettings.DestinationArn).toBeDefined();
    // CloudFormation refuses route settings for a route that does not exist yet: the stage waits for it.
    const subscribeRoute = Object.entries(full.statelessTemplate.findResources('AWS::ApiGatewayV2::Route') as Record<string, Resource & { DependsOn?: string[] }>)
      .find(([, r]) => r.Properties.RouteKey === SUBSCRIBE_ROUTE_KEY)![0];
    expect((full.statelessTemplate.toJSON().Resources[stageId].DependsOn ?? []) as string[]).toContain(subscribeRoute);
    const [, defaults] = only(minimal.statelessTemplate, 'AWS::ApiGatewayV2::Stage');
    expect(defaults.Properties.DefaultRouteSettings).toMatchObject({ ThrottlingRateLimit: 100, ThrottlingBurstLimit: 200 });
    expect(defaults.Properties.RouteSettings[SUBSCRIBE_ROUTE_KEY]).toEqual({ ThrottlingRateLimit: 10, ThrottlingBurstLimit: 20 });
    expect(API_THROTTLE_DEFAULTS).toEqual({ rate: 100, burst: 200, subscribeRate: 10, subscribeBurst: 20 });
  });

  it('limits CORS to the allowed origin, and has no CORS at all without one', () => {
    const [, api] = only(full.statelessTemplate, 'AWS::ApiGatewayV2::Api');
    expect(api.Properties.CorsConfiguration.AllowOrigins).toEqual(['https://news.example.com']);
    expect(api.Properties.CorsConfiguration.AllowCredentials).toBeFalsy();
    const [, bare] = only(minimal.statelessTemplate, 'AWS::ApiGatewayV2::Api');
    expect(bare.Properties.CorsConfiguration).toBeUndefined();
  });
});

describe('stateless stack: send queue and worker', () => {
  const queues = (t: Template) => t.findResources('AWS::SQS::Queue') as Record<string, Resource>;
  const sendQueue = (t: Template) => {
    const entries = Object.entries(queues(t)).filter(([, q]) => q.Properties.RedrivePolicy);
    expect(entries).toHaveLength(1);
    return entries[0]!;
  };

  it('has a DLQ with maxReceiveCount, and the worker is told the same count', () => {
    const t = full.statelessTemplate;
    const [, queue] = sendQueue(t);
    const dlqId = queue.Properties.RedrivePolicy.deadLetterTargetArn['Fn::GetAtt'][0];
    expect(queues(t)[dlqId]).toBeDefined();
    expect(queue.Properties.RedrivePolicy.maxReceiveCount).toBe(MAX_RECEIVE_COUNT);
    expect(functionProps(t, 'Worker').Environment.Variables.MAX_RECEIVE_COUNT).toBe(String(queue.Properties.RedrivePolicy.maxReceiveCount));
  });

  it('sets the visibility timeout to at least 6x the worker timeout', () => {
    const [, queue] = sendQueue(full.statelessTemplate);
    const workerTimeout = functionProps(full.statelessTemplate, 'Worker').Timeout as number;
    expect(workerTimeout).toBeGreaterThan(0);
    expect(queue.Properties.VisibilityTimeout).toBeGreaterThanOrEqual(6 * workerTimeout);
  });

  it('enforces SSL on every queue (a Deny on aws:SecureTransport=false) and encrypts them', () => {
    const t = full.statelessTemplate;
    const policies = Object.values(t.findResources('AWS::SQS::QueuePolicy') as Record<string, Resource>);
    for (const [id, q] of Object.entries(queues(t))) {
      const own = policies.filter((p) => JSON.stringify(p.Properties.Queues) === JSON.stringify([{ Ref: id }]));
      expect(own.some((p) => denyUnlessTls(p.Properties.PolicyDocument.Statement)), id).toBe(true);
      expect(q.Properties.SqsManagedSseEnabled, id).toBe(true);
    }
  });

  it('worker event source reports batch item failures and derives maxConcurrency from the send rate', () => {
    const mapping = (app: SynthesizedApp) => {
      const [, m] = only(app.statelessTemplate, 'AWS::Lambda::EventSourceMapping');
      expect(m.Properties.FunctionName).toEqual({ Ref: functionLogicalId(app.statelessTemplate, 'Worker') });
      expect(m.Properties.EventSourceArn['Fn::GetAtt'][0]).toBe(sendQueue(app.statelessTemplate)[0]);
      expect(m.Properties.FunctionResponseTypes).toEqual(['ReportBatchItemFailures']);
      return m.Properties;
    };
    const fromFull = mapping(full);
    expect(fromFull.ScalingConfig.MaximumConcurrency).toBe(workerSizing(full.settings).maxConcurrency);
    expect(fromFull.BatchSize).toBe(workerSizing(full.settings).batchSize);
    // 50/s x 0.8 = 40/s needs 4 workers; the SES default of 14/s needs the event source's minimum of 2.
    expect(fromFull.ScalingConfig.MaximumConcurrency).toBe(4);
    expect(mapping(minimal).ScalingConfig.MaximumConcurrency).toBe(2);
    expect(functionProps(full.statelessTemplate, 'Worker').Environment.Variables.WORKER_CONCURRENCY).toBe('4');
  });

  it('the send function is told the worker\'s deployment (concurrency, batch size, timeout), as the mapping and the worker have it', () => {
    for (const app of [full, minimal]) {
      const [, m] = only(app.statelessTemplate, 'AWS::Lambda::EventSourceMapping');
      const sizing = workerSizing(app.settings);
      const send = functionProps(app.statelessTemplate, 'Send').Environment.Variables;
      expect(send.WORKER_CONCURRENCY).toBe(String(sizing.maxConcurrency));
      expect(send.WORKER_BATCH_SIZE).toBe(String(sizing.batchSize));
      expect(send.WORKER_TIMEOUT_SECONDS).toBe(String(WORKER_TIMEOUT_SECONDS));
      // The same numbers the deployed worker runs with.
      expect(send.WORKER_CONCURRENCY).toBe(String(m.Properties.ScalingConfig.MaximumConcurrency));
      expect(send.WORKER_BATCH_SIZE).toBe(String(m.Properties.BatchSize));
      expect(send.WORKER_TIMEOUT_SECONDS).toBe(String(functionProps(app.statelessTemplate, 'Worker').Timeout));
    }
    // 50/s x 0.8 = 40/s over 4 workers: 10/s each, 10 x 300 / 2 / 50 = 30 messages, capped at SQS's 10.
    expect(functionProps(full.statelessTemplate, 'Send').Environment.Variables).toMatchObject({ WORKER_BATCH_SIZE: '10', WORKER_TIMEOUT_SECONDS: '300' });
    // A slow account, where the handler's own default (10) would be wrong: 1/s x 0.8 over 2 workers sends one
    // 50-recipient message in 125 s, so a batch is one message.
    const slow = synthesize({ ...MINIMAL_CONTEXT, sendRate: '1' });
    expect(functionProps(slow.statelessTemplate, 'Send').Environment.Variables).toMatchObject({ WORKER_CONCURRENCY: '2', WORKER_BATCH_SIZE: '1' });
    expect(only(slow.statelessTemplate, 'AWS::Lambda::EventSourceMapping')[1].Properties.BatchSize).toBe(1);
  }, 60_000);
});

describe('stateless stack: alarms', () => {
  const alarms = () => Object.values(full.statelessTemplate.findResources('AWS::CloudWatch::Alarm') as Record<string, Resource>).map((a) => a.Properties);

  it('alarms on the send DLQ depth and on worker errors', () => {
    const [, queue] = Object.entries(full.statelessTemplate.findResources('AWS::SQS::Queue') as Record<string, Resource>).find(
      ([, q]) => q.Properties.RedrivePolicy,
    )!;
    const dlqId = queue.Properties.RedrivePolicy.deadLetterTargetArn['Fn::GetAtt'][0];
    const dlq = alarms().find(
      (a) => a.MetricName === 'ApproximateNumberOfMessagesVisible' && JSON.stringify(a.Dimensions).includes(dlqId),
    );
    expect(dlq).toMatchObject({ Namespace: 'AWS/SQS', Threshold: 0, ComparisonOperator: 'GreaterThanThreshold' });
    const worker = alarms().find((a) => a.Namespace === 'AWS/Lambda' && a.MetricName === 'Errors');
    expect(JSON.stringify(worker?.Dimensions)).toContain(functionLogicalId(full.statelessTemplate, 'Worker'));
  });

  it('alarms on the SES bounce rate and on a complaint rate of 0.1%', () => {
    const bounce = alarms().find((a) => a.MetricName === 'Reputation.BounceRate');
    expect(bounce).toMatchObject({ Namespace: 'AWS/SES', ComparisonOperator: 'GreaterThanOrEqualToThreshold' });
    expect(bounce!.Threshold).toBeLessThanOrEqual(0.05);
    const complaint = alarms().find((a) => a.MetricName === 'Reputation.ComplaintRate');
    expect(complaint).toMatchObject({ Namespace: 'AWS/SES', Threshold: 0.001, ComparisonOperator: 'GreaterThanOrEqualToThreshold' });
  });

  it('every alarm notifies the alarm topic, which mails alarmEmail when given', () => {
    const [topicId] = only(full.statelessTemplate, 'AWS::SNS::Topic');
    for (const a of alarms()) expect(a.AlarmActions).toEqual([{ Ref: topicId }]);
    full.statelessTemplate.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'ops@example.com' });
    minimal.statelessTemplate.resourcePropertiesCountIs('AWS::SNS::Subscription', { Protocol: 'email' }, 0);
  });
});

describe('custom domain (apiDomain): stable links in emails', () => {
  let zoned: SynthesizedApp;
  let ownCertificate: SynthesizedApp;
  const CERTIFICATE_ARN = 'arn:aws:acm:eu-west-1:123456789012:certificate/0a1b2c3d-0000-4000-8000-000000000000';
  beforeAll(() => {
    zoned = synthesize({ ...MINIMAL_CONTEXT, sender: 'news@example.org', domain: 'example.org', apiDomain: 'news.example.org', hostedZoneId: 'Z0123456789ABCDEFGHIJ' });
    ownCertificate = synthesize({ ...MINIMAL_CONTEXT, apiDomain: 'links.example.net', certificateArn: CERTIFICATE_ARN });
  }, 120_000);

  const stringEnv = (app: SynthesizedApp, id: FunctionId) => functionProps(app.statelessTemplate, id).Environment.Variables.PUBLIC_BASE_URL;

  it('the stateful stack owns the domain name and a DNS-validated certificate, both retained; the stateless stack maps its API onto it', () => {
    const [domainId, domain] = only(full.statefulTemplate, 'AWS::ApiGatewayV2::DomainName');
    expect(domain.Properties.DomainName).toBe('news.example.com');
    expect(domain.Properties.DomainNameConfigurations).toEqual([
      expect.objectContaining({ EndpointType: 'REGIONAL', SecurityPolicy: 'TLS_1_2' }),
    ]);
    expect(domain.DeletionPolicy).toBe('Retain');
    const [certId, cert] = only(full.statefulTemplate, 'AWS::CertificateManager::Certificate');
    expect(cert.Properties).toMatchObject({ DomainName: 'news.example.com', ValidationMethod: 'DNS' });
    expect(cert.DeletionPolicy).toBe('Retain');
    expect(domain.Properties.DomainNameConfigurations[0].CertificateArn).toEqual({ Ref: certId });
    full.statelessTemplate.resourceCountIs('AWS::ApiGatewayV2::DomainName', 0);
    const [, mapping] = only(full.statelessTemplate, 'AWS::ApiGatewayV2::ApiMapping');
    expect(JSON.stringify(mapping.Properties.DomainName)).toContain('Fn::ImportValue');
    expect(JSON.stringify(mapping.Properties.DomainName)).toContain(domainId);
    expect(mapping.Properties.ApiMappingKey).toBeUndefined();
  });

  it('every function builds links on https://<apiDomain>, and PublicBaseUrl says so', () => {
    for (const id of ['Subscribers', 'Archive', 'Send', 'Worker'] as const) expect(stringEnv(full, id), id).toBe('https://news.example.com');
    expect(full.statelessTemplate.findOutputs('PublicBaseUrl').PublicBaseUrl!.Value).toBe('https://news.example.com');
  });

  it('without a Route 53 zone, outputs the CNAME to create and the certificate to validate', () => {
    const outputs = full.statefulTemplate.findOutputs('*');
    const record = JSON.stringify(outputs.ApiDomainRecord!.Value);
    expect(record).toContain('news.example.com');
    expect(record).toContain('CNAME');
    expect(record).toContain('RegionalDomainName');
    expect(outputs.ApiCertificateArn!.Description).toMatch(/validation CNAME/);
    full.statefulTemplate.resourceCountIs('AWS::Route53::RecordSet', 0);
  });

  it('with hostedZoneId, the certificate validates in that zone and an alias record points the name at the API', () => {
    const [, cert] = only(zoned.statefulTemplate, 'AWS::CertificateManager::Certificate');
    expect(cert.Properties.DomainValidationOptions).toEqual([{ DomainName: 'news.example.org', HostedZoneId: 'Z0123456789ABCDEFGHIJ' }]);
    const [, record] = only(zoned.statefulTemplate, 'AWS::Route53::RecordSet');
    expect(record.Properties).toMatchObject({ Name: 'news.example.org.', Type: 'A', HostedZoneId: 'Z0123456789ABCDEFGHIJ' });
    expect(JSON.stringify(record.Properties.AliasTarget)).toContain('RegionalDomainName');
    const names = Object.keys(zoned.statefulTemplate.findOutputs('*'));
    expect(names).not.toContain('ApiDomainRecord');
    expect(names).not.toContain('ApiCertificateArn');
    expect(stringEnv(zoned, 'Worker')).toBe('https://news.example.org');
  });

  it('with certificateArn, uses that certificate and requests none', () => {
    ownCertificate.statefulTemplate.resourceCountIs('AWS::CertificateManager::Certificate', 0);
    const [, domain] = only(ownCertificate.statefulTemplate, 'AWS::ApiGatewayV2::DomainName');
    expect(domain.Properties.DomainNameConfigurations[0].CertificateArn).toBe(CERTIFICATE_ARN);
    expect(Object.keys(ownCertificate.statefulTemplate.findOutputs('*'))).toContain('ApiDomainRecord');
    expect(stringEnv(ownCertificate, 'Send')).toBe('https://links.example.net');
  });

  it('without apiDomain, links use the API endpoint and the output says it changes with the stack', () => {
    minimal.statefulTemplate.resourceCountIs('AWS::ApiGatewayV2::DomainName', 0);
    minimal.statefulTemplate.resourceCountIs('AWS::CertificateManager::Certificate', 0);
    minimal.statelessTemplate.resourceCountIs('AWS::ApiGatewayV2::ApiMapping', 0);
    const [apiId] = only(minimal.statelessTemplate, 'AWS::ApiGatewayV2::Api');
    expect(JSON.stringify(stringEnv(minimal, 'Worker'))).toContain(apiId);
    expect(minimal.statelessTemplate.findOutputs('PublicBaseUrl').PublicBaseUrl!.Description).toMatch(/changes if this stack is replaced/);
  });

  it('every configuration passes cdk-nag and CloudFormation validation without a warning', () => {
    for (const app of [zoned, ownCertificate]) {
      const report = new AwsSolutionsChecks(app.app).validateScope(app.app);
      expect(report.violations.map((v) => v.ruleName)).toEqual([]);
      for (const stack of [app.stateful, app.stateless]) {
        const a = Annotations.fromStack(stack);
        expect([...a.findWarning('*', Match.anyValue()), ...a.findError('*', Match.anyValue())].map((m) => String(m.entry.data))).toEqual([]);
      }
    }
  });
});

describe('scheduled sends (EventBridge Scheduler)', () => {
  it('a retained schedule group named after the stack prefix, and a role only Scheduler may assume, for that group and account', () => {
    const [groupId, group] = only(full.statefulTemplate, 'AWS::Scheduler::ScheduleGroup');
    expect(group.Properties.Name).toBe('newsletter');
    expect(group.DeletionPolicy).toBe('Retain');
    const roles = Object.entries(full.statefulTemplate.findResources('AWS::IAM::Role') as Record<string, Resource>);
    expect(roles).toHaveLength(1);
    const [roleId, role] = roles[0]!;
    expect(role.Properties.ManagedPolicyArns).toBeUndefined();
    expect(role.Properties.Policies).toBeUndefined();
    const trust = role.Properties.AssumeRolePolicyDocument.Statement as Array<Statement & { Principal: unknown }>;
    expect(trust).toHaveLength(1);
    expect(trust[0]).toMatchObject({ Effect: 'Allow', Action: 'sts:AssumeRole', Principal: { Service: 'scheduler.amazonaws.com' } });
    expect(trust[0]!.Condition).toEqual({
      StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } },
      ArnEquals: { 'aws:SourceArn': { 'Fn::GetAtt': [groupId, 'Arn'] } },
    });
    const outputs = full.statefulTemplate.findOutputs('*');
    expect(outputs.ScheduleGroupName!.Value).toBe('newsletter');
    expect(outputs.ScheduleRoleArn!.Value).toEqual({ 'Fn::GetAtt': [roleId, 'Arn'] });
    expect(synthesize({ ...MINIMAL_CONTEXT, stackPrefix: 'Staging' }).statefulTemplate.findResources('AWS::Scheduler::ScheduleGroup')).toEqual(
      expect.objectContaining({ [groupId]: expect.objectContaining({ Properties: { Name: 'staging' } }) }),
    );
  });

  it('the stateless stack lets that role invoke the send function and nothing else', () => {
    for (const app of [full, minimal]) {
      const policies = Object.values(app.statelessTemplate.findResources('AWS::IAM::Policy') as Record<string, Resource>).filter((p) =>
        JSON.stringify(p.Properties.Roles).includes('ScheduleRole'),
      );
      expect(policies).toHaveLength(1);
      expect(JSON.stringify(policies[0]!.Properties.Roles)).toContain('Fn::ImportValue');
      const statements = policies[0]!.Properties.PolicyDocument.Statement as Statement[];
      expect(statements).toHaveLength(1);
      expect(statements[0]).toMatchObject({ Effect: 'Allow', Action: 'lambda:InvokeFunction' });
      expect(statements[0]!.Resource).toEqual({ 'Fn::GetAtt': [functionLogicalId(app.statelessTemplate, 'Send'), 'Arn'] });
    }
  });
});

describe('outputs', () => {
  it('has the outputs the CLI reads (INTERFACES point 3), each with a description', () => {
    for (const app of [full, minimal]) {
      const stateful = app.statefulTemplate.findOutputs('*');
      const stateless = app.statelessTemplate.findOutputs('*');
      expect(Object.keys(stateful)).toEqual(expect.arrayContaining(['TableName', 'IssueBucketName', 'ScheduleRoleArn', 'ScheduleGroupName']));
      expect(Object.keys(stateless)).toEqual(expect.arrayContaining(['SendFunctionName', 'SendFunctionArn', 'PublicBaseUrl', 'ApiUrl']));
      // What bin/commands/aws-outputs.ts looks for exists in one of the two stacks.
      for (const { output } of Object.values(OUTPUT_SOURCES)) expect({ ...stateful, ...stateless }[output], output).toBeDefined();
      for (const [name, output] of [...Object.entries(stateful), ...Object.entries(stateless)]) {
        if (output.Export) continue; // CDK's own cross-stack exports
        expect(typeof output.Description, name).toBe('string');
        expect((output.Description as string).length, name).toBeGreaterThan(10);
      }
    }
    const send = functionLogicalId(full.statelessTemplate, 'Send');
    expect(full.statelessTemplate.findOutputs('SendFunctionArn').SendFunctionArn!.Value).toEqual({ 'Fn::GetAtt': [send, 'Arn'] });
  });
});

describe('cdk.json', () => {
  it("sets every feature flag aws-cdk-lib recommends, at its recommended value, but strong cross-stack references", () => {
    const recommended = JSON.parse(readFileSync(path.join(REPO_ROOT, 'node_modules/aws-cdk-lib/recommended-feature-flags.json'), 'utf8')) as Record<string, unknown>;
    const { '@aws-cdk/core:defaultCrossStackReferences': crossStack, ...others } = recommended;
    expect(crossStack).toBeDefined();
    for (const [flag, value] of Object.entries(others)) expect(CDK_JSON_CONTEXT[flag], flag).toEqual(value);
    // Kept: the stateless stack imports the stateful stack's exports, which CloudFormation then protects.
    expect(CDK_JSON_CONTEXT['@aws-cdk/core:defaultCrossStackReferences']).toBe('strong');
  });
});

describe('least privilege', () => {
  const EXPECTED: Record<FunctionId, string[]> = {
    // Conditional updates only; no Put, BatchGet or Query (test/deploy checks each action against the calls).
    Subscribers: ['dynamodb:GetItem', 'dynamodb:UpdateItem', 'secretsmanager:GetSecretValue', 'ses:SendEmail'],
    // Rendered issues are read from the table: neither the archive nor the worker touches S3.
    Archive: ['dynamodb:BatchGetItem', 'dynamodb:GetItem', 'dynamodb:Query'],
    Send: [
      'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Query', 'dynamodb:Scan', 'dynamodb:UpdateItem',
      's3:GetObject', 's3:ListBucket', 'secretsmanager:GetSecretValue', 'ses:SendEmail', 'sqs:SendMessage',
    ],
    // sqs:ReceiveMessage, DeleteMessage and GetQueueAttributes: Lambda's documented minimum for an SQS event source.
    Worker: [
      'dynamodb:BatchGetItem', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Query', 'dynamodb:UpdateItem',
      'secretsmanager:GetSecretValue', 'ses:SendEmail', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes', 'sqs:ReceiveMessage',
    ],
    // sqs:SendMessage is the on-failure destination for events that exhausted Lambda's async retries.
    SesEvents: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'sqs:SendMessage'],
  };
  // Every function writes its own log group and sends X-Ray traces.
  const BASE = ['logs:CreateLogStream', 'logs:PutLogEvents', 'xray:PutTelemetryRecords', 'xray:PutTraceSegments'];

  it('each function gets exactly the actions its code calls (ses:GetAccount only when the send rate is not fixed)', () => {
    for (const id of FUNCTION_IDS) {
      expect(roleActions(full.statelessTemplate, id), id).toEqual([...EXPECTED[id], ...BASE].sort());
      const withQuota = id === 'Send' || id === 'Worker' ? ['ses:GetAccount'] : [];
      expect(roleActions(minimal.statelessTemplate, id), `${id} (minimal)`).toEqual([...EXPECTED[id], ...BASE, ...withQuota].sort());
    }
  });

  it('the archive function only reads: no write action of any service', () => {
    for (const app of [full, minimal]) {
      const actions = roleActions(app.statelessTemplate, 'Archive').filter((a) => !BASE.includes(a));
      expect(actions.filter((a) => /:(Put|Update|Delete|BatchWrite|Write|Send|Create|Scan)/.test(a))).toEqual([]);
    }
  });

  it('no Allow statement anywhere grants a wildcard action (wildcards only in Deny-without-TLS statements)', () => {
    for (const t of allTemplates()) {
      const json = t.toJSON() as { Resources: Record<string, Resource> };
      const statements: Statement[] = [];
      const collect = (node: unknown): void => {
        if (Array.isArray(node)) node.forEach(collect);
        else if (node && typeof node === 'object') {
          const o = node as Record<string, unknown>;
          if ('Effect' in o && 'Action' in o) statements.push(o as unknown as Statement);
          else Object.values(o).forEach(collect);
        }
      };
      collect(json.Resources);
      expect(statements.length).toBeGreaterThan(0);
      for (const s of statements) {
        const wildcard = actionsOf(s).filter((a) => a.includes('*'));
        if (s.Effect === 'Allow') expect(wildcard, JSON.stringify(s)).toEqual([]);
        else if (wildcard.length) expect(JSON.stringify(s.Condition), JSON.stringify(s)).toMatch(/aws:SecureTransport|s3:TlsVersion/);
      }
    }
  });

  it('ses:SendEmail is scoped to the sending identities and the configuration set, never "*"', () => {
    const cases = [
      { app: full, identities: ['example.com', 'news@example.com'] },
      { app: minimal, identities: ['example.org', 'news@example.org'] },
    ];
    for (const { app, identities } of cases) {
      for (const id of ['Subscribers', 'Send', 'Worker'] as const) {
        const statements = statementsFor(app.statelessTemplate, id, 'ses:SendEmail');
        expect(statements, id).toHaveLength(1);
        const resources = resourcesOf(statements[0]!).map((r) => JSON.stringify(r));
        expect(resources).not.toContain('"*"');
        const named = resources.map((r) => /:identity\/([^"]+)"/.exec(r)?.[1]).filter(Boolean);
        expect(named.sort(), id).toEqual(identities);
        const sets = resources.filter((r) => r.includes(':configuration-set/'));
        expect(sets, id).toHaveLength(1);
        // The stateful stack's configuration set, imported by name.
        expect(sets[0]).toMatch(/ExportsOutputRefConfigurationSet/);
        expect(resources, id).toHaveLength(identities.length + 1);
      }
      for (const id of ['Archive', 'SesEvents'] as const) expect(statementsFor(app.statelessTemplate, id, 'ses:SendEmail'), id).toEqual([]);
    }
  });

  it('"*" resources appear only for the account-level X-Ray and ses:GetAccount calls', () => {
    for (const app of [full, minimal]) {
      for (const id of FUNCTION_IDS) {
        for (const s of roleStatements(app.statelessTemplate, id)) {
          if (resourcesOf(s).includes('*')) {
            expect(actionsOf(s).every((a) => a.startsWith('xray:') || a === 'ses:GetAccount'), `${id}: ${JSON.stringify(s)}`).toBe(true);
          }
        }
      }
    }
  });

  it('table access names the table; only the send function may Query the confirmed index (by name, not index/*), and nothing else on it', () => {
    for (const app of [full, minimal]) {
      for (const id of FUNCTION_IDS) {
        const dynamo = roleStatements(app.statelessTemplate, id).filter((s) => actionsOf(s).some((a) => a.startsWith('dynamodb:')));
        const onIndex = dynamo.filter((s) => JSON.stringify(s.Resource).includes('/index/'));
        for (const s of dynamo) {
          expect(actionsOf(s).every((a) => a.startsWith('dynamodb:')), `${id}: ${JSON.stringify(s)}`).toBe(true);
          expect(JSON.stringify(s.Resource), id).not.toContain('index/*');
        }
        // One statement on the table itself.
        expect(dynamo.filter((s) => !onIndex.includes(s)), id).toHaveLength(1);
        if (id === 'Send') {
          expect(onIndex, id).toHaveLength(1);
          expect(actionsOf(onIndex[0]!)).toEqual(['dynamodb:Query']);
          expect(resourcesOf(onIndex[0]!)).toHaveLength(1);
          expect(JSON.stringify(onIndex[0]!.Resource)).toContain(`/index/${CONFIRMED_INDEX}"`);
        } else expect(onIndex, id).toEqual([]);
      }
    }
  });

  it('the worker\'s queue statement is exactly the event source minimum; the SES events DLQ statement only SendMessage', () => {
    for (const app of [full, minimal]) {
      const queueStatements = (id: FunctionId) => roleStatements(app.statelessTemplate, id).filter((s) => actionsOf(s).some((a) => a.startsWith('sqs:')));
      const [consume, ...moreConsume] = queueStatements('Worker');
      expect(moreConsume).toEqual([]);
      expect([...actionsOf(consume!)].sort()).toEqual(['sqs:DeleteMessage', 'sqs:GetQueueAttributes', 'sqs:ReceiveMessage']);
      const [mapping] = Object.values(app.statelessTemplate.findResources('AWS::Lambda::EventSourceMapping') as Record<string, Resource>);
      expect(resourcesOf(consume!)).toEqual([mapping!.Properties.EventSourceArn]);

      const [dlq, ...moreDlq] = queueStatements('SesEvents');
      expect(moreDlq).toEqual([]);
      expect(actionsOf(dlq!)).toEqual(['sqs:SendMessage']);
      const [config] = Object.values(app.statelessTemplate.findResources('AWS::Lambda::EventInvokeConfig') as Record<string, Resource>);
      expect(config!.Properties.DestinationConfig).toEqual({ OnFailure: { Destination: dlq!.Resource } });
    }
  });

  it('roles use no managed policies (AWSLambdaBasicExecutionRole would allow every log group)', () => {
    for (const role of Object.values(full.statelessTemplate.findResources('AWS::IAM::Role') as Record<string, Resource>)) {
      expect(role.Properties.ManagedPolicyArns).toBeUndefined();
    }
  });
});

describe('cdk-nag (AwsSolutions)', () => {
  it('reports zero unacknowledged findings for either configuration', () => {
    for (const app of [full, minimal]) {
      const report = new AwsSolutionsChecks(app.app).validateScope(app.app);
      expect(report.violations.map((v) => `${v.ruleName}: ${v.violatingResources.map((r) => r.constructPath).join(', ')}`)).toEqual([]);
      expect(report.success).toBe(true);
    }
  });

  it('every acknowledgement names an AwsSolutions rule and carries a written reason', () => {
    const acks: Array<{ path: string; id: string; reason: unknown }> = [];
    for (const c of full.app.node.findAll()) {
      for (const entry of c.node.metadata) {
        if (entry.type !== 'aws:cdk:acknowledged-rules') continue;
        for (const [id, reason] of Object.entries(entry.data as Record<string, unknown>)) acks.push({ path: c.node.path, id, reason });
      }
    }
    expect(acks.length).toBeGreaterThan(0);
    for (const ack of acks) {
      expect(ack.id, ack.path).toMatch(/AwsSolutions-[A-Z]+\d+/);
      expect(typeof ack.reason, `${ack.path} ${ack.id}`).toBe('string');
      // A sentence, not a placeholder: at least a few words.
      expect((ack.reason as string).trim().split(/\s+/).length, `${ack.path} ${ack.id}`).toBeGreaterThanOrEqual(8);
    }
  });

  it('the check can fail: an unacknowledged bucket without SSL enforcement is reported', () => {
    // Its own app: a throwaway stack in FULL would change what the other tests see.
    const probe = synthesizeProbe();
    const report = new AwsSolutionsChecks(probe).validateScope(probe);
    expect(report.violations.map((v) => v.ruleName)).toEqual(expect.arrayContaining(['AwsSolutions-S10']));
  });
});

function synthesizeProbe(): App {
  const app = new App();
  new s3.Bucket(new Stack(app, 'Probe'), 'Plain');
  return app;
}
