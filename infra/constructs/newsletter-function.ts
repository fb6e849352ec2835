/**
 * One construct owns every function default, so the five functions only say what differs: their entry, memory,
 * timeout and what they may touch. Modelled on Powertools' FunctionWithLogGroup.
 */
import path from 'node:path';
import { Duration, Names, Stack } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import type { Config } from '../../lambdas/runtime/config.ts';
import { CONFIRMED_INDEX } from '../../lambdas/adapters/dynamodb/table.ts';
import { FUNCTION_BUNDLES, LAMBDA_TEMPLATES_DIR, REPO_ROOT, bundlingOptions, handlerEntry, precompiledEmails, type HandlerName } from '../bundling.ts';
import { acknowledge, wildcardResourceFinding } from '../nag.ts';

export type { HandlerName } from '../bundling.ts';

/** Environment variables a function may receive: the runtime config schema plus infra-only extras. */
export type FunctionEnvironment = Partial<
  Record<keyof Config | 'WORKER_CONCURRENCY' | 'WORKER_BATCH_SIZE' | 'WORKER_TIMEOUT_SECONDS' | 'MAX_RECEIVE_COUNT', string>
>;

export interface NewsletterFunctionProps {
  readonly handlerName: HandlerName;
  readonly description: string;
  /** MB; required, from FUNCTION_MEMORY_MB (infra/settings.ts), the one table the cost model also reads. */
  readonly memorySize: number;
  /**
   * A fixed physical name, for a function something outside this stack names by ARN (EventBridge Scheduler's
   * schedules name the send function): it survives a replacement of the stateless stack. Default: generated.
   */
  readonly functionName?: string;
  /** Default 10 s: HTTP handlers must answer well inside API Gateway's 30 s limit. */
  readonly timeout?: Duration;
  /**
   * @deprecated Ignored: the construct copies exactly the template folders the function reads
   * (FUNCTION_BUNDLES in infra/bundling.ts) and sets TEMPLATES_DIR when there are any.
   */
  readonly includeTemplates?: boolean;
  /** Default one month. */
  readonly logRetention?: logs.RetentionDays;
}

/** Node.js 24 (LTS), the newest Lambda runtime; the code itself only needs Node 20. */
export const LAMBDA_RUNTIME = lambda.Runtime.NODEJS_24_X;

/**
 * The DynamoDB commands a function may be granted: what lambdas/adapters/dynamodb sends from a function. Each
 * function is granted exactly the ones its code can send (listed with their code paths at the call site in
 * infra/stateless-stack.ts); test/deploy fails on a call its role refuses and on a granted action nothing calls.
 * None of the functions deletes, batch-writes or uses transactions: erasure and the identity migrations are
 * operator commands (`newsletter subscribers delete`, `migrate-identities`) run with the operator's credentials.
 */
export type TableAction = 'GetItem' | 'BatchGetItem' | 'Query' | 'Scan' | 'PutItem' | 'UpdateItem';

/**
 * What Lambda's SQS poller calls with the function's role: AWS's documented minimum for an SQS event source (the
 * actions of AWSLambdaSQSQueueExecutionRole). Not ChangeMessageVisibility or GetQueueUrl, which SqsEventSource's
 * grantConsumeMessages adds: the poller does not call them, and a failed item is reported in batchItemFailures and
 * left to the queue's visibility timeout, never made visible early.
 */
export const SQS_EVENT_SOURCE_ACTIONS = ['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes'];

/**
 * An async-invocation destination that is an SQS queue, binding only sqs:SendMessage (Lambda sends the failed
 * event with the function's role). aws-lambda-destinations' SqsDestination grants grantSendMessages instead,
 * which adds GetQueueAttributes and GetQueueUrl that Lambda never calls for a destination.
 */
export class QueueDestination implements lambda.IDestination {
  constructor(private readonly queue: sqs.IQueue) {}

  bind(_scope: Construct, fn: lambda.IFunction): lambda.DestinationConfig {
    fn.addToRolePolicy(new iam.PolicyStatement({ actions: ['sqs:SendMessage'], resources: [this.queue.queueArn] }));
    return { destination: this.queue.queueArn };
  }
}

export class NewsletterFunction extends NodejsFunction {
  private readonly executionRole: iam.Role;

  constructor(scope: Construct, id: string, props: NewsletterFunctionProps) {
    const bundle = FUNCTION_BUNDLES[props.handlerName];
    const includeTemplates = bundle.templateFolders.length > 0;
    // Compile the emails only when this stack's assets are really bundled (`cdk synth --exclusively` and the
    // in-process template tests skip bundling): it runs MJML in a child process, a few seconds.
    const emails = bundle.precompiledEmails && Stack.of(scope).bundlingRequired ? precompiledEmails() : undefined;
    // The log group is ours (not created lazily by Lambda), so it has a retention and the role can be scoped to it.
    const logGroup = new logs.LogGroup(scope, `${id}Logs`, {
      retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
    });
    // An own role instead of AWSLambdaBasicExecutionRole: that managed policy allows writing to every log group.
    const role = new iam.Role(scope, `${id}Role`, {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `${props.handlerName} function`,
    });
    super(scope, id, {
      entry: handlerEntry(props.handlerName),
      handler: 'handler',
      ...(props.functionName ? { functionName: props.functionName } : {}),
      projectRoot: REPO_ROOT,
      depsLockFilePath: path.join(REPO_ROOT, 'package-lock.json'),
      description: props.description,
      runtime: LAMBDA_RUNTIME,
      architecture: lambda.Architecture.ARM_64,
      memorySize: props.memorySize,
      timeout: props.timeout ?? Duration.seconds(10),
      tracing: lambda.Tracing.ACTIVE,
      logGroup,
      role,
      bundling: bundlingOptions(props.handlerName, emails),
      // No NODE_OPTIONS=--enable-source-maps: the bundles ship without maps (see bundlingOptions).
      environment: {
        // The `service` of every log entry and the dimension of every metric, so each function's counts (the
        // worker's and the events function's `Dropped`, say) stay apart.
        POWERTOOLS_SERVICE_NAME: `newsletter-${props.handlerName}`,
        ...(includeTemplates ? { TEMPLATES_DIR: LAMBDA_TEMPLATES_DIR } : {}),
      },
    });
    this.executionRole = role;
    logGroup.grantWrite(role);
    acknowledge(role, {
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'X-Ray tracing (xray:PutTraceSegments, xray:PutTelemetryRecords) and ses:GetAccount are account-level ' +
        'calls that IAM only authorizes on Resource "*"; the actions themselves are named, never wildcards.',
    });
  }

  /** Set runtime configuration (see lambdas/runtime/config.ts); undefined values are skipped. */
  withEnvironment(vars: FunctionEnvironment): this {
    for (const [key, value] of Object.entries(vars)) {
      if (value !== undefined) this.addEnvironment(key, value);
    }
    return this;
  }

  /**
   * Exactly these DynamoDB actions on the table itself (not its index: see queriesConfirmedIndex), and TABLE_NAME.
   * The caller lists the commands the function's code can send.
   */
  usesTable(table: dynamodb.ITable, actions: readonly TableAction[]): this {
    if (actions.length === 0) throw new Error(`${this.node.path}: usesTable needs at least one action`);
    this.addToRolePolicy(
      new iam.PolicyStatement({ actions: [...new Set(actions)].map((a) => `dynamodb:${a}`), resources: [table.tableArn] }),
    );
    return this.withEnvironment({ TABLE_NAME: table.tableName });
  }

  /**
   * Query on the table's confirmed index (named, not index/*): only for a function that lists or counts the
   * confirmed subscribers (the send function's fan-out and its audience count).
   */
  queriesConfirmedIndex(table: dynamodb.ITable): this {
    this.addToRolePolicy(
      new iam.PolicyStatement({ actions: ['dynamodb:Query'], resources: [`${table.tableArn}/index/${CONFIRMED_INDEX}`] }),
    );
    return this;
  }

  /** GetObject and ListBucket (so a missing key is a 404, not a 403), and BUCKET_NAME. */
  readsBucket(bucket: s3.IBucket): this {
    this.addToRolePolicy(new iam.PolicyStatement({ actions: ['s3:ListBucket'], resources: [bucket.bucketArn] }));
    const objects = bucket.arnForObjects('*');
    this.addToRolePolicy(new iam.PolicyStatement({ actions: ['s3:GetObject'], resources: [objects] }));
    acknowledge(this.executionRole, {
      id: wildcardResourceFinding(this, objects),
      reason: 'Object reads need a key pattern: the operator uploads issue Markdown under keys of their choosing, in this one bucket.',
    });
    return this.withEnvironment({ BUCKET_NAME: bucket.bucketName });
  }

  /**
   * sqs:SendMessage (which also authorizes SendMessageBatch) on the queue, and QUEUE_URL. Narrower than
   * grantSendMessages: the code has the URL, so it never calls GetQueueUrl or GetQueueAttributes. The queue uses
   * SQS-managed encryption, so no KMS permission is needed.
   */
  sendsToQueue(queue: sqs.IQueue): this {
    this.addToRolePolicy(new iam.PolicyStatement({ actions: ['sqs:SendMessage'], resources: [queue.queueArn] }));
    return this.withEnvironment({ QUEUE_URL: queue.queueUrl });
  }

  /**
   * GetSecretValue on the token-signing secret, and TOKEN_SECRET_ARN. Narrower than grantRead (which adds
   * DescribeSecret); the secret is encrypted with the AWS-managed key, so no KMS permission is needed.
   */
  readsTokenKeys(secret: secretsmanager.ISecret): this {
    this.addToRolePolicy(new iam.PolicyStatement({ actions: ['secretsmanager:GetSecretValue'], resources: [secret.secretArn] }));
    return this.withEnvironment({ TOKEN_SECRET_ARN: secret.secretArn });
  }

  /**
   * ses:SendEmail scoped to the sending identities and the configuration set (SES authorizes both), plus
   * SENDER and CONFIGURATION_SET.
   */
  sendsEmail(opts: { identityArns: string[]; configurationSetName: string; sender: string }): this {
    const stack = Stack.of(this);
    const configSetArn = stack.formatArn({
      service: 'ses',
      resource: 'configuration-set',
      resourceName: opts.configurationSetName,
    });
    this.addToRolePolicy(
      new iam.PolicyStatement({ actions: ['ses:SendEmail'], resources: [...opts.identityArns, configSetArn] }),
    );
    return this.withEnvironment({ SENDER: opts.sender, CONFIGURATION_SET: opts.configurationSetName });
  }

  /**
   * An SQS event source mapping with partial batch responses (ReportBatchItemFailures), and only the actions
   * Lambda's poller needs on that queue (SQS_EVENT_SOURCE_ACTIONS), instead of SqsEventSource's broader grant.
   */
  consumesQueue(queue: sqs.IQueue, opts: { batchSize: number; maxConcurrency: number }): this {
    this.addToRolePolicy(new iam.PolicyStatement({ actions: SQS_EVENT_SOURCE_ACTIONS, resources: [queue.queueArn] }));
    // The construct id SqsEventSource gives its mapping, so a stack deployed with it updates the mapping in place
    // instead of replacing it (two mappings on one queue for the length of the update).
    this.addEventSourceMapping(`SqsEventSource:${Names.nodeUniqueId(queue.node)}`, {
      eventSourceArn: queue.queueArn,
      batchSize: opts.batchSize,
      maxConcurrency: opts.maxConcurrency,
      reportBatchItemFailures: true,
    });
    return this;
  }

  /**
   * Asynchronous invocations (EventBridge's) that still fail after `retryAttempts` Lambda retries go to `queue`;
   * the role gets only sqs:SendMessage on it (see QueueDestination).
   */
  sendsFailedInvocationsTo(queue: sqs.IQueue, opts: { retryAttempts: number }): this {
    this.configureAsyncInvoke({ onFailure: new QueueDestination(queue), retryAttempts: opts.retryAttempts });
    return this;
  }

  /** ses:GetAccount (MaxSendRate and quotas). It is an account-level call: IAM only accepts Resource "*" for it. */
  readsSesAccount(): this {
    this.addToRolePolicy(new iam.PolicyStatement({ actions: ['ses:GetAccount'], resources: ['*'] }));
    return this;
  }
}
