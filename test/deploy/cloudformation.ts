/**
 * Resolves the intrinsic functions in a synthesized template (Ref, Fn::GetAtt, Fn::ImportValue, Fn::Join, Fn::Sub,
 * Fn::Select) to the values CloudFormation would produce in one fake account, so a function's environment and its
 * role's statements can be used as deployed: the same name everywhere a resource is referenced, and ARNs built the
 * way AWS builds them. Anything this does not know throws, naming the expression, rather than guessing.
 */

export type CfnResource = { Type: string; Properties?: Record<string, any> };
export interface CfnTemplate {
  Resources: Record<string, CfnResource>;
  Outputs?: Record<string, { Value: unknown; Export?: { Name: unknown } }>;
}

export const FAKE_ACCOUNT = '123456789012';
export const FAKE_REGION = 'us-east-1';

export interface Deployment {
  /** Stack name → template. */
  templates: Record<string, CfnTemplate>;
  /** The physical table name (the emulator's table). */
  tableName: string;
  /** Base URL of the SQS endpoint that queue URLs point at (`<base>/<account>/<queue name>`). */
  sqsBaseUrl: string;
}

/** The physical name given to a resource without a name property: its logical id, as CloudFormation would derive one. */
const physicalName = (logicalId: string) => logicalId;

export const secretArn = (logicalId: string) => `arn:aws:secretsmanager:${FAKE_REGION}:${FAKE_ACCOUNT}:secret:${logicalId}-AbCdEf`;
export const queueArn = (name: string) => `arn:aws:sqs:${FAKE_REGION}:${FAKE_ACCOUNT}:${name}`;
export const tableArn = (name: string) => `arn:aws:dynamodb:${FAKE_REGION}:${FAKE_ACCOUNT}:table/${name}`;

function lookup(d: Deployment, stack: string, logicalId: string): CfnResource {
  const r = d.templates[stack]?.Resources[logicalId];
  if (!r) throw new Error(`${stack}: no resource ${logicalId}`);
  return r;
}

function ref(d: Deployment, stack: string, id: string): string {
  switch (id) {
    case 'AWS::AccountId':
      return FAKE_ACCOUNT;
    case 'AWS::Region':
      return FAKE_REGION;
    case 'AWS::Partition':
      return 'aws';
    case 'AWS::URLSuffix':
      return 'amazonaws.com';
    case 'AWS::StackName':
      return stack;
  }
  const r = lookup(d, stack, id);
  switch (r.Type) {
    case 'AWS::DynamoDB::Table':
      return d.tableName;
    case 'AWS::SecretsManager::Secret':
      return secretArn(id);
    case 'AWS::SQS::Queue':
      return `${d.sqsBaseUrl}/${FAKE_ACCOUNT}/${physicalName(id)}`;
    case 'AWS::S3::Bucket':
      return r.Properties?.BucketName ? String(resolve(d, stack, r.Properties.BucketName)) : physicalName(id).toLowerCase();
    case 'AWS::SES::ConfigurationSet':
      return r.Properties?.Name ? String(resolve(d, stack, r.Properties.Name)) : physicalName(id);
    case 'AWS::SES::EmailIdentity':
      return String(resolve(d, stack, r.Properties?.EmailIdentity));
    case 'AWS::ApiGatewayV2::Api':
      return id.toLowerCase().slice(0, 10);
    case 'AWS::Lambda::Function':
    case 'AWS::IAM::Role':
    case 'AWS::SNS::Topic':
      return physicalName(id);
  }
  throw new Error(`${stack}: cannot resolve Ref ${id} (${r.Type})`);
}

function getAtt(d: Deployment, stack: string, id: string, attr: string): string {
  const r = lookup(d, stack, id);
  const key = `${r.Type}.${attr}`;
  switch (key) {
    case 'AWS::DynamoDB::Table.Arn':
      return tableArn(d.tableName);
    case 'AWS::SQS::Queue.Arn':
      return queueArn(physicalName(id));
    case 'AWS::SQS::Queue.QueueName':
      return physicalName(id);
    case 'AWS::Logs::LogGroup.Arn':
      return `arn:aws:logs:${FAKE_REGION}:${FAKE_ACCOUNT}:log-group:${physicalName(id)}:*`;
    case 'AWS::ApiGatewayV2::Api.ApiEndpoint':
      return `https://${ref(d, stack, id)}.execute-api.${FAKE_REGION}.amazonaws.com`;
    case 'AWS::S3::Bucket.Arn':
      return `arn:aws:s3:::${ref(d, stack, id)}`;
    case 'AWS::IAM::Role.Arn':
      return `arn:aws:iam::${FAKE_ACCOUNT}:role/${physicalName(id)}`;
    case 'AWS::Lambda::Function.Arn':
      return `arn:aws:lambda:${FAKE_REGION}:${FAKE_ACCOUNT}:function:${physicalName(id)}`;
    case 'AWS::SNS::Topic.TopicArn':
      return `arn:aws:sns:${FAKE_REGION}:${FAKE_ACCOUNT}:${physicalName(id)}`;
  }
  throw new Error(`${stack}: cannot resolve Fn::GetAtt ${id}.${attr} (${r.Type})`);
}

function importValue(d: Deployment, name: string): unknown {
  for (const [stack, t] of Object.entries(d.templates)) {
    for (const out of Object.values(t.Outputs ?? {})) {
      if (out.Export && resolve(d, stack, out.Export.Name) === name) return resolve(d, stack, out.Value);
    }
  }
  throw new Error(`no stack exports ${name}`);
}

/** Resolve every intrinsic function in `value` as CloudFormation would in the fake account. */
export function resolve(d: Deployment, stack: string, value: unknown): unknown {
  if (Array.isArray(value)) return value.map((v) => resolve(d, stack, v));
  if (value === null || typeof value !== 'object') return value;
  const obj = value as Record<string, unknown>;
  const keys = Object.keys(obj);
  if (keys.length === 1) {
    const [fn] = keys as [string];
    const arg = obj[fn];
    switch (fn) {
      case 'Ref':
        return ref(d, stack, arg as string);
      case 'Fn::GetAtt': {
        const [id, attr] = Array.isArray(arg) ? (arg as [string, string]) : (String(arg).split('.') as [string, string]);
        return getAtt(d, stack, id, attr);
      }
      case 'Fn::ImportValue':
        return importValue(d, String(resolve(d, stack, arg)));
      case 'Fn::Join': {
        const [sep, parts] = arg as [string, unknown[]];
        return (resolve(d, stack, parts) as unknown[]).join(sep);
      }
      case 'Fn::Select': {
        const [index, list] = arg as [number | string, unknown];
        return (resolve(d, stack, list) as unknown[])[Number(index)];
      }
      case 'Fn::Sub': {
        const [text, vars] = Array.isArray(arg) ? (arg as [string, Record<string, unknown>]) : [arg as string, {}];
        return text.replace(/\$\{([^}]+)\}/g, (_m, name: string) => {
          if (name in vars) return String(resolve(d, stack, vars[name]));
          const [id, attr] = name.split('.') as [string, string | undefined];
          return attr ? getAtt(d, stack, id, attr) : ref(d, stack, id);
        });
      }
    }
    if (fn.startsWith('Fn::') || fn === 'Condition') throw new Error(`${stack}: cannot resolve ${fn}`);
  }
  return Object.fromEntries(keys.map((k) => [k, resolve(d, stack, obj[k])]));
}
