/**
 * Checks a function's recorded AWS calls against its role's statements with @cloud-copilot/iam-simulate.
 *
 * Each call becomes the authorization requests AWS makes for it: the IAM action (SendMessageBatch is authorized as
 * sqs:SendMessage) on each resource AWS checks (SES v2 SendEmail: the sending identity and the configuration set;
 * Query on an index: the index ARN; S3 GetObject of a missing key: also s3:ListBucket on the bucket, which decides
 * between 404 and 403).
 */
import { runSimulation } from '@cloud-copilot/iam-simulate';
import type { RecordedCall } from './aws-front.ts';
import { FAKE_ACCOUNT, FAKE_REGION, queueArn, tableArn } from './cloudformation.ts';
import type { IamStatement } from './synth.ts';

export interface AuthorizationRequest {
  action: string;
  resource: string;
  /** The call it came from, for messages. */
  call: string;
}

/** SQS batch APIs are authorized as their single-message action. */
const SQS_ACTION: Record<string, string> = {
  SendMessageBatch: 'SendMessage',
  DeleteMessageBatch: 'DeleteMessage',
  ChangeMessageVisibilityBatch: 'ChangeMessageVisibility',
};

const dynamoTable = (nameOrArn: string) => (nameOrArn.startsWith('arn:') ? nameOrArn : tableArn(nameOrArn));
const sesArn = (resource: string) => `arn:aws:ses:${FAKE_REGION}:${FAKE_ACCOUNT}:${resource}`;

/** The address inside `Name <addr>` or a bare address, lower-cased. */
const addressOf = (from: string) => (/<([^>]+)>/.exec(from)?.[1] ?? from).trim().toLowerCase();

/**
 * The authorization requests AWS makes for one call. `identities` are the SES identities the deployment verifies
 * (the stack's EmailIdentity resources); SES authorizes the identity it sends from: the address when it is an
 * identity itself, else its domain.
 */
export function authorizationRequests(c: RecordedCall, identities: string[]): AuthorizationRequest[] {
  const call = `${c.service}:${c.operation}`;
  const req = (action: string, resource: string): AuthorizationRequest => ({ action, resource, call });
  const b = c.body ?? {};
  switch (c.service) {
    case 'dynamodb': {
      const action = `dynamodb:${c.operation}`;
      if (c.operation === 'BatchGetItem' || c.operation === 'BatchWriteItem') {
        return Object.keys(b.RequestItems ?? {}).map((t) => req(action, dynamoTable(t)));
      }
      const table = dynamoTable(String(b.TableName));
      return [req(action, b.IndexName ? `${table}/index/${b.IndexName}` : table)];
    }
    case 'secretsmanager':
      return [req(`secretsmanager:${c.operation}`, String(b.SecretId))];
    case 'sqs': {
      const name = String(b.QueueUrl ?? '').split('/').at(-1) ?? '';
      return [req(`sqs:${SQS_ACTION[c.operation] ?? c.operation}`, queueArn(name))];
    }
    case 's3': {
      const [, bucket, ...key] = c.path.split('/');
      if (c.operation === 'GetObject' || c.operation === 'HeadObject') {
        const object = req('s3:GetObject', `arn:aws:s3:::${bucket}/${decodeURIComponent(key.join('/'))}`);
        return c.status === 404 ? [object, req('s3:ListBucket', `arn:aws:s3:::${bucket}`)] : [object];
      }
      if (c.operation === 'ListObjectsV2') return [req('s3:ListBucket', `arn:aws:s3:::${bucket}`)];
      return [req(`s3:${c.operation}`, `arn:aws:s3:::${bucket}`)];
    }
    case 'ses': {
      if (c.operation === 'GetAccount') return [req('ses:GetAccount', '*')];
      if (c.operation === 'SendEmail') {
        const from = addressOf(String(b.FromEmailAddress ?? ''));
        const domain = from.split('@')[1] ?? '';
        const identity = b.FromEmailAddressIdentityArn ?? sesArn(`identity/${identities.includes(from) || !identities.includes(domain) ? from : domain}`);
        const out = [req('ses:SendEmail', identity)];
        if (b.ConfigurationSetName) out.push(req('ses:SendEmail', sesArn(`configuration-set/${b.ConfigurationSetName}`)));
        return out;
      }
      return [req(`ses:${c.operation}`, '*')];
    }
  }
  return [req(`${c.service}:${c.operation}`, '*')];
}

/** Whether the statements allow the request, by iam-simulate; throws on a simulation error (bad action or ARN). */
export async function isAllowed(statements: IamStatement[], r: AuthorizationRequest, roleName: string): Promise<boolean> {
  const result = await runSimulation(
    {
      identityPolicies: [{ name: `${roleName}Policy`, policy: { Version: '2012-10-17', Statement: statements } }],
      serviceControlPolicies: [],
      resourceControlPolicies: [],
      request: {
        action: r.action,
        principal: `arn:aws:sts::${FAKE_ACCOUNT}:assumed-role/${roleName}/${roleName}`,
        resource: { accountId: FAKE_ACCOUNT, resource: r.resource },
        contextVariables: {},
      },
    },
    {},
  );
  if (result.resultType === 'error') throw new Error(`iam-simulate: ${r.action} on ${r.resource}: ${JSON.stringify(result.errors)}`);
  return result.overallResult === 'Allowed';
}

/** Every action the statements allow (statements here never use wildcard actions; test/infra checks that). */
export function grantedActions(statements: IamStatement[]): string[] {
  const actions = statements.filter((s) => s.Effect === 'Allow').flatMap((s) => (Array.isArray(s.Action) ? s.Action : [s.Action]));
  return [...new Set(actions)].sort();
}

/** IAM's ARN pattern match: `*` any run of characters, `?` one character, case-sensitive. */
export function arnMatches(pattern: string, arn: string): boolean {
  const re = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${re}$`).test(arn);
}

/**
 * Granted (action, resource pattern) pairs no request used, for actions that were called: a table index nothing
 * queries, an identity SES never authorizes. Reported, not failed: the action itself is needed.
 */
export function unusedResources(statements: IamStatement[], requests: AuthorizationRequest[]): string[] {
  const out: string[] = [];
  for (const s of statements.filter((x) => x.Effect === 'Allow')) {
    const actions = Array.isArray(s.Action) ? s.Action : [s.Action];
    const called = actions.filter((a) => requests.some((r) => r.action === a));
    if (called.length === 0) continue;
    for (const pattern of Array.isArray(s.Resource) ? s.Resource : [s.Resource]) {
      if (pattern === '*') continue;
      if (!requests.some((r) => called.includes(r.action) && arnMatches(pattern, r.resource))) out.push(`${called.join(',')} on ${pattern}`);
    }
  }
  return out;
}
