/**
 * The five functions as deployed (issue 14): `cdk synth` once, then each function's asset folder, copied where no
 * node_modules resolves, runs in its own child `node` with the template's environment (intrinsic functions resolved
 * in a fake account; AWS endpoints at the emulators). One reader's path through all of them: subscribe and confirm
 * (API Gateway v2 events), an issue sent by `{s3Key}` (direct invoke), its SQS messages delivered to the worker,
 * SES events through EventBridge, a one-click unsubscribe from the delivered email, and the archive.
 *
 * Every AWS call each function makes is recorded at its own endpoint and checked against that function's role
 * statements with iam-simulate: a call the role does not allow fails, and so does a granted action that no call
 * used, unless SERVICE_SIDE or NOT_SEEN_BY_FUNCTION lists it with the reason it is needed, and so does a table or
 * index ARN that no call used. cfn-lint runs on every synthesized template when
 * it is installed.
 */
import { execFile } from 'node:child_process';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import type { APIGatewayProxyResultV2, APIGatewayProxyStructuredResultV2, SQSEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDbCampaignRepository } from '../../lambdas/adapters/dynamodb/dynamodb-campaign-repository.ts';
import { permanentBounce, send as sendEvent, viaEventBridge } from '../handlers/ses-events.fixtures.ts';
import { issueMarkdown } from '../integration/send-helpers.ts';
import { httpEvent, startTestEmulators, tokenFromEmail, type StoredEmail, type TestEmulators } from '../support/emulators.ts';
import { FakeAws } from './aws-front.ts';
import { FAKE_REGION, queueArn, type Deployment } from './cloudformation.ts';
import { DeployedFunction } from './deployed-function.ts';
import { authorizationRequests, grantedActions, isAllowed, unusedResources, type AuthorizationRequest } from './iam.ts';
import {
  FUNCTION_IDS,
  functionStack,
  resolvedEnvironment,
  resolvedStatements,
  synthesize,
  synthesizedFunction,
  type FunctionId,
  type IamStatement,
  type Synthesized,
} from './synth.ts';

const exec = promisify(execFile);

/**
 * Granted actions the test cannot see called, each with the reason it is needed. Anything else granted and never
 * called fails the test: either a scenario here should exercise it, or the role should not have it.
 *
 * Called by AWS services with the function's role (never at the function's endpoint):
 */
const SERVICE_SIDE: Record<string, string> = {
  'logs:CreateLogStream': 'Lambda writes the function log to its own log group',
  'logs:PutLogEvents': 'Lambda writes the function log to its own log group',
  'xray:PutTraceSegments': 'active tracing: Lambda sends the invocation segments',
  'xray:PutTelemetryRecords': 'active tracing: Lambda sends the invocation segments',
};
/** Per function: its event source or destination (AWS-documented minimum), and code paths these scenarios do not reach. */
const NOT_SEEN_BY_FUNCTION: Partial<Record<FunctionId, Record<string, string>>> = {
  Worker: {
    'sqs:ReceiveMessage': 'the SQS event source mapping polls the queue with the function role',
    'sqs:DeleteMessage': 'the event source mapping deletes the messages the function handled',
    'sqs:GetQueueAttributes': 'the event source mapping reads the queue attributes',
    'dynamodb:PutItem':
      'campaigns.park() in core/sending/worker.ts: a message for a PAUSED campaign, a paused lane, or giveUp() on the ' +
      'last receive or without progress parks its untried recipients as QUEUED pairs for `resume`',
  },
  SesEvents: {
    'sqs:SendMessage': "the async-invoke on-failure destination sends failed events to the events DLQ with the function role",
  },
};

const READER = 'reader@example.com';
const BOUNCER = 'bouncer@example.com';
const ISSUE_KEY = 'issues/deploy-1.md';
const SLUG = 'deploy-1';

let synth: Synthesized;
let env: TestEmulators;
let aws: FakeAws;
const fns = {} as Record<FunctionId, DeployedFunction>;
const statements = {} as Record<FunctionId, IamStatement[]>;
const environments = {} as Record<FunctionId, Record<string, string>>;
let identities: string[] = [];

/** cfn-lint when it is on PATH (it is on this project's machines and in CI); the test name says it runs it. */
const cfnLint = await exec('cfn-lint', ['--version']).then(
  () => true,
  () => false,
);
type CfnLintFinding = { Level: string; Message: string; Rule: { Id: string }; Filename: string; Location: { Path: unknown[] } };
/** Started as soon as the templates exist, so it runs while the functions do. */
let lint: Promise<{ files: string[]; stdout: string }> | undefined;

function runCfnLint(s: Synthesized): Promise<{ files: string[]; stdout: string }> {
  const files = Object.keys(s.templates).map((name) => path.join(s.outdir, `${name}.template.json`));
  return exec('cfn-lint', ['--format', 'json', '--', ...files], { maxBuffer: 16 * 1024 * 1024 }).then(
    ({ stdout }) => ({ files, stdout }),
    // Non-zero exit codes are bit flags (2 error, 4 warning, 8 informational): the JSON on stdout says which.
    (e: { stdout?: string; stderr?: string }) => {
      if (!e.stdout) throw new Error(`cfn-lint failed: ${e.stderr}`);
      return { files, stdout: e.stdout };
    },
  );
}

const http = (r: APIGatewayProxyResultV2) => r as APIGatewayProxyStructuredResultV2;
const form = (fields: Record<string, string>) => ({ body: new URLSearchParams(fields).toString(), contentType: 'application/x-www-form-urlencoded' });
const emailsTo = async (to: string, subject: RegExp): Promise<StoredEmail[]> => (await env.emailsTo(to)).filter((e) => subject.test(e.subject));

beforeAll(async () => {
  [synth, env] = await Promise.all([synthesize(), startTestEmulators()]);
  if (cfnLint) {
    lint = runCfnLint(synth);
    lint.catch(() => undefined); // reported by the cfn-lint test, not as an unhandled rejection
  }
  aws = new FakeAws({ dynamoEndpoint: env.emulators.dynamoEndpoint, sesEndpoint: env.emulators.sesEndpoint });
  const stack = functionStack(synth);
  identities = Object.entries(synth.templates).flatMap(([, t]) =>
    Object.values(t.Resources)
      .filter((r) => r.Type === 'AWS::SES::EmailIdentity')
      .map((r) => String(r.Properties?.EmailIdentity).toLowerCase()),
  );
  const started = await Promise.all(
    FUNCTION_IDS.map(async (id) => {
      const fn = synthesizedFunction(synth, id);
      const endpoint = await aws.endpointFor(id);
      // Queue URLs point at the function's own endpoint: the SQS client sends to the queue URL's host.
      const deployment: Deployment = { templates: synth.templates, tableName: env.emulators.tableName, sqsBaseUrl: endpoint };
      environments[id] = resolvedEnvironment(deployment, stack, fn);
      statements[id] = resolvedStatements(deployment, stack, fn);
      const tokenSecret = environments[id].TOKEN_SECRET_ARN;
      // The shape the stack's generated secret has: {"current":"k1","k1":"<key>"}.
      if (tokenSecret) aws.secrets.set(tokenSecret, JSON.stringify({ current: 'k1', k1: 'deploy-test-key-0123456789abcdef' }));
      return [
        id,
        await DeployedFunction.start(
          { id, assetDir: fn.assetDir, handler: fn.handler, timeoutSeconds: fn.timeoutSeconds, memoryMb: fn.memoryMb, environment: environments[id] },
          {
            AWS_REGION: FAKE_REGION,
            AWS_DEFAULT_REGION: FAKE_REGION,
            AWS_ACCESS_KEY_ID: 'ASIADEPLOYTEST',
            AWS_SECRET_ACCESS_KEY: 'deploy-test',
            AWS_SESSION_TOKEN: 'deploy-test',
            AWS_ENDPOINT_URL: endpoint,
            AWS_CONFIG_FILE: '/nonexistent/aws-config',
            AWS_SHARED_CREDENTIALS_FILE: '/nonexistent/aws-credentials',
            AWS_EC2_METADATA_DISABLED: 'true',
          },
        ),
      ] as const;
    }),
  );
  for (const [id, f] of started) fns[id] = f;
}, 300_000);

afterAll(async () => {
  await Promise.all(Object.values(fns).map((f) => f.stop()));
  await aws?.close();
  await env?.stop();
  if (synth) rmSync(synth.outdir, { recursive: true, force: true });
});

describe('deployed functions (synthesized bundles in child processes, emulators; fake Secrets Manager, SQS and S3 endpoints)', () => {
  it('each bundle loads on its own: no node_modules in reach, environment from the template', () => {
    for (const id of FUNCTION_IDS) {
      expect(fns[id].sdkResolvable, `${id} could resolve @aws-sdk from its task root`).toBe(false);
      expect(environments[id].TABLE_NAME, id).toBe(env.emulators.tableName);
    }
    expect(environments.Subscribers.PUBLIC_BASE_URL).toMatch(/^https:\/\/[a-z0-9]+\.execute-api\.us-east-1\.amazonaws\.com$/);
    expect(environments.Send.QUEUE_URL).toMatch(/\/123456789012\/SendQueue[0-9A-F]{8}$/);
  });

  it('subscribers (API Gateway v2): subscribe, GET confirm changes nothing, POST confirm; bad input is a 4xx', async () => {
    const f = fns.Subscribers;
    for (const email of [READER, BOUNCER]) {
      const res = http(await f.invoke(httpEvent('POST', '/subscribe', form({ email, name: 'Ann' }))));
      expect(res.statusCode, email).toBe(200);
      expect(await env.subscribers.getStatus(email)).toBe('pending');
    }
    const bad = http(await f.invoke(httpEvent('POST', '/subscribe', form({ email: 'not an address' }))));
    expect(bad.statusCode).toBeGreaterThanOrEqual(400);
    expect(bad.statusCode).toBeLessThan(500);
    expect(http(await f.invoke(httpEvent('GET', '/health'))).statusCode).toBe(200);

    for (const email of [READER, BOUNCER]) {
      const [mail, ...more] = await emailsTo(email, /confirm/i);
      expect(more, email).toHaveLength(0);
      expect(mail!.body.text).toContain(`${environments.Subscribers.PUBLIC_BASE_URL}/confirm?token=`);
      const token = tokenFromEmail(mail!.body.html!);
      const page = http(await f.invoke(httpEvent('GET', `/confirm?token=${encodeURIComponent(token)}`)));
      expect(page.statusCode).toBe(200);
      expect(await env.subscribers.getStatus(email)).toBe('pending');
      const done = http(await f.invoke(httpEvent('POST', '/confirm', form({ token }))));
      expect(done.statusCode, String(done.body).slice(0, 300)).toBeLessThan(400);
      expect(await env.subscribers.getStatus(email)).toBe('confirmed');
    }
  });

  it('send (direct invoke): a missing s3Key is not-found, dry-run counts the audience, test mode mails, send enqueues', async () => {
    const f = fns.Send;
    aws.objects.set(`${environments.Send.BUCKET_NAME}/${ISSUE_KEY}`, issueMarkdown(SLUG, 'Deployed weekly'));
    await expect(f.invoke({ issue: { s3Key: 'issues/missing.md' }, mode: 'dry-run' })).resolves.toMatchObject({ status: 'not-found' });
    await expect(f.invoke({ issue: { s3Key: ISSUE_KEY }, mode: 'dry-run' })).resolves.toMatchObject({ status: 'dry-run', audience: 2 });
    const test = await f.invoke({ issue: { s3Key: ISSUE_KEY }, mode: 'test', testRecipients: ['qa@example.org'] });
    expect(test).toMatchObject({ status: 'test-sent' });
    expect(await emailsTo('qa@example.org', /Deployed weekly/)).toHaveLength(1);

    const result = await f.invoke({ issue: { s3Key: ISSUE_KEY }, mode: 'send' });
    expect(result, JSON.stringify(result)).toMatchObject({ status: 'complete', campaign: { audience: 2, fanoutComplete: true } });
    const sendQueue = environments.Send.QUEUE_URL!.split('/').at(-1);
    expect(aws.messages.length).toBeGreaterThan(0);
    expect(aws.messages.every((m) => m.queueName === sendQueue)).toBe(true);
  });

  it('worker (SQS event of what send enqueued): both readers get the issue once, no batch item failures', async () => {
    const records = aws.messages.map((m) => ({
      messageId: m.messageId,
      receiptHandle: `rh-${m.messageId}`,
      body: m.body,
      attributes: { ApproximateReceiveCount: '1', SentTimestamp: String(Date.now()), SenderId: 'AROADEPLOYTEST', ApproximateFirstReceiveTimestamp: String(Date.now()) },
      messageAttributes: {},
      md5OfBody: '',
      eventSource: 'aws:sqs',
      eventSourceARN: queueArn(m.queueName),
      awsRegion: FAKE_REGION,
    }));
    const out = await fns.Worker.invoke({ Records: records } as SQSEvent);
    expect(out).toEqual({ batchItemFailures: [] });
    for (const email of [READER, BOUNCER]) expect(await emailsTo(email, /Deployed weekly/), email).toHaveLength(1);
    const campaigns = new DynamoDbCampaignRepository(env.doc, env.tableName);
    const accounting = await campaigns.accounting(SLUG, { consistent: true });
    expect(accounting).toMatchObject({ audience: 2, sent: 2 });
  });

  it('ses-events (EventBridge): a Send event settles, a permanent bounce suppresses the subscriber', async () => {
    const [delivered] = await emailsTo(READER, /Deployed weekly/);
    await fns.SesEvents.invoke(viaEventBridge(sendEvent(delivered!.messageId, [READER], SLUG)));
    const [bounced] = await emailsTo(BOUNCER, /Deployed weekly/);
    const bounce = permanentBounce(bounced!.messageId, [BOUNCER]);
    await fns.SesEvents.invoke(viaEventBridge({ ...bounce, mail: { ...bounce.mail, tags: { ...bounce.mail.tags, campaign: [SLUG] } } }));
    expect(await env.subscribers.getStatus(BOUNCER)).toBe('bounced');
    expect(await env.subscribers.getStatus(READER)).toBe('confirmed');
  });

  it('subscribers: one-click unsubscribe (RFC 8058) with the link from the delivered issue, repeated without a change', async () => {
    const [issue] = await emailsTo(READER, /Deployed weekly/);
    const token = tokenFromEmail(issue!.body.html!, '/unsubscribe');
    const unsubscribe = () =>
      fns.Subscribers.invoke(httpEvent('POST', `/unsubscribe?token=${encodeURIComponent(token)}`, form({ 'List-Unsubscribe': 'One-Click' })));
    expect(http(await unsubscribe()).statusCode).toBe(200);
    expect(await env.subscribers.getStatus(READER)).toBe('unsubscribed');
    // The repeat fails its condition and reads the subscriber (GetItem) to answer the same way.
    expect(http(await unsubscribe()).statusCode).toBe(200);
    expect(await env.subscribers.getStatus(READER)).toBe('unsubscribed');
  });

  it('archive (API Gateway v2): the list, the issue page and the feed show the sent issue', async () => {
    const list = http(await fns.Archive.invoke(httpEvent('GET', '/archive')));
    expect(list.statusCode).toBe(200);
    expect(String(list.body)).toContain('Deployed weekly');
    const page = http(await fns.Archive.invoke(httpEvent('GET', `/archive/${SLUG}`)));
    expect(page.statusCode).toBe(200);
    expect(String(page.body)).toContain('Deployed weekly');
    const feed = http(await fns.Archive.invoke(httpEvent('GET', '/archive/feed.xml')));
    expect(feed.statusCode).toBe(200);
    expect(String(feed.body)).toContain('<feed');
    expect(http(await fns.Archive.invoke(httpEvent('GET', '/archive/no-such-issue'))).statusCode).toBe(404);
  });

  describe('IAM: every recorded call is allowed, and every granted action is used', () => {
    it('control: without the statement granting sqs:SendMessage, the send function\'s SendMessageBatch is denied', async () => {
      const batch = aws.callsOf('Send').find((c) => c.operation === 'SendMessageBatch');
      expect(batch).toBeDefined();
      const [request] = authorizationRequests(batch!, identities);
      expect(request).toMatchObject({ action: 'sqs:SendMessage', resource: expect.stringMatching(/^arn:aws:sqs:us-east-1:123456789012:SendQueue/) });
      expect(await isAllowed(statements.Send, request!, 'SendRole')).toBe(true);
      const without = statements.Send.filter((st) => !grantedActions([st]).includes('sqs:SendMessage'));
      expect(await isAllowed(without, request!, 'SendRole')).toBe(false);
    });

    it('SES authorizes SendEmail on the domain identity the stack verifies and on the configuration set', () => {
      const sent = aws.callsOf('Worker').find((c) => c.operation === 'SendEmail');
      expect(sent).toBeDefined();
      expect(identities).toEqual(['example.com']);
      expect(authorizationRequests(sent!, identities).map((r) => r.resource)).toEqual([
        'arn:aws:ses:us-east-1:123456789012:identity/example.com',
        `arn:aws:ses:us-east-1:123456789012:configuration-set/${environments.Worker.CONFIGURATION_SET}`,
      ]);
    });

    it.each(FUNCTION_IDS)('%s', async (id) => {
      const calls = aws.callsOf(id);
      expect(calls.length, `${id} made no AWS call`).toBeGreaterThan(0);
      expect(calls.filter((c) => c.operation.includes(' ')).map((c) => c.operation), `${id}: calls the test cannot name`).toEqual([]);
      const requests: AuthorizationRequest[] = calls.flatMap((c) => authorizationRequests(c, identities));
      const unique = [...new Map(requests.map((r) => [`${r.action} ${r.resource}`, r])).values()];
      const denied: string[] = [];
      for (const r of unique) if (!(await isAllowed(statements[id], r, `${id}Role`))) denied.push(`${r.action} on ${r.resource} (${r.call})`);
      expect(denied, `${id}: calls its role does not allow`).toEqual([]);

      const used = new Set(unique.map((r) => r.action));
      const serviceSide = { ...SERVICE_SIDE, ...NOT_SEEN_BY_FUNCTION[id] };
      const granted = grantedActions(statements[id]);
      const unused = granted.filter((a) => !used.has(a) && !(a in serviceSide));
      expect(unused, `${id}: granted but never called (called: ${[...used].sort().join(', ')})`).toEqual([]);
      // The exceptions stay honest: each is granted, and none is an action the scenarios did call.
      const notSeen = Object.keys(NOT_SEEN_BY_FUNCTION[id] ?? {});
      expect(notSeen.filter((a) => !granted.includes(a)), `${id}: NOT_SEEN_BY_FUNCTION lists actions the role lacks`).toEqual([]);
      expect(notSeen.filter((a) => used.has(a)), `${id}: NOT_SEEN_BY_FUNCTION lists actions that were called`).toEqual([]);

      // A table or index resource no call used fails (only the function that queries the confirmed index may name
      // it). SES identities are only flagged: SES authorizes the address identity when it is verified, else its
      // domain, so both are granted and a deployment uses one of them.
      const idle = unusedResources(statements[id], unique);
      const idleTable = idle.filter((r) => r.split(' on ')[0]!.split(',').some((a) => a.startsWith('dynamodb:')));
      expect(idleTable, `${id}: DynamoDB resources granted but never used`).toEqual([]);
      const flagged = idle.filter((r) => !idleTable.includes(r));
      if (flagged.length) console.warn(`${id}: granted on resources no call used (flagged, not failed):\n  ${flagged.join('\n  ')}`);
    });
  });
});

describe.runIf(cfnLint)('cfn-lint', () => {
  it('cfn-lint finds no errors in any synthesized template (warnings printed)', async () => {
    const { files, stdout } = await lint!;
    expect(files.length).toBe(Object.keys(synth.templates).length);
    const findings = JSON.parse(stdout || '[]') as CfnLintFinding[];
    const line = (f: (typeof findings)[number]) => `${path.basename(f.Filename)} ${f.Rule.Id} ${f.Location.Path.join('/')}: ${f.Message}`;
    const warnings = findings.filter((f) => f.Level !== 'Error');
    if (warnings.length) console.warn(`cfn-lint warnings:\n${warnings.map(line).join('\n')}`);
    expect(findings.filter((f) => f.Level === 'Error').map(line)).toEqual([]);
  }, 180_000);
});
