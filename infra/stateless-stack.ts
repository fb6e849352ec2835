/**
 * What can be replaced at any time: the five functions, the HTTP API, the send queue, the SES events rule and the
 * alarms. It receives the stateful resources as props (Lee Gilmore's stateful/stateless split).
 */
import { CfnOutput, Duration, Stack, type StackProps } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { acknowledge } from './nag.ts';
import type { Construct } from 'constructs';
import { NewsletterFunction } from './constructs/newsletter-function.ts';
import { FUNCTION_MEMORY_MB, ROUTED_SES_DETAIL_TYPES, WORKER_TIMEOUT_SECONDS, workerSizing, type Settings } from './settings.ts';

export interface StatelessStackProps extends StackProps {
  readonly settings: Settings;
  readonly table: dynamodb.ITable;
  /** Name of the stateful stack's bucket (see issuesBucketName). */
  readonly bucketName: string;
  readonly tokenSecret: secretsmanager.ISecret;
  readonly configurationSetName: string;
  readonly identityArns: string[];
  /** The stateful stack's custom domain, when `apiDomain` is set: the API is mapped onto it. */
  readonly apiDomainName?: apigw.IDomainName;
  /** The role EventBridge Scheduler assumes for scheduled sends: this stack lets it invoke the send function. */
  readonly scheduleRole: iam.IRole;
}

/**
 * API paths and the function serving them, all with method ANY so each handler answers a wrong method with its own
 * 405 (and security headers). Every other path reaches the subscribers function through the `$default` route, whose
 * router answers our 404 page rather than API Gateway's bare `{"message":"Not Found"}`.
 */
export const SUBSCRIBER_PATHS = ['/subscribe', '/confirm', '/unsubscribe', '/health'] as const;
export const ARCHIVE_PATHS = ['/archive', '/archive/feed.xml', '/archive/{slug}'] as const;
/** The route with its own, lower throttle: a POST may send a confirmation email (see API_THROTTLE_DEFAULTS). */
export const SUBSCRIBE_ROUTE_KEY = 'ANY /subscribe';

/** Receives before a batch goes to the DLQ: enough for a few throttling retries, few enough to surface a poison message. */
export const MAX_RECEIVE_COUNT = 5;
/** AWS's guidance for SQS event sources: visibility timeout at least six times the function timeout. */
export const VISIBILITY_TIMEOUT_FACTOR = 6;

/** EventBridge's retries of an events-function invocation it could not make (throttling), before the DLQ. */
export const SES_EVENTS_RULE_RETRIES = 8;

export class StatelessStack extends Stack {
  readonly functions: Record<'subscribers' | 'archive' | 'send' | 'worker' | 'sesEvents', NewsletterFunction>;
  readonly api: apigw.HttpApi;
  readonly queue: sqs.Queue;
  readonly deadLetterQueue: sqs.Queue;
  readonly alarmTopic: sns.Topic;

  constructor(scope: Construct, id: string, props: StatelessStackProps) {
    super(scope, id, props);
    const { settings } = props;
    const sizing = workerSizing(settings);
    const bucket = s3.Bucket.fromBucketName(this, 'Bucket', props.bucketName);

    // ---- HTTP API (created first: every function links to its URL) ----
    this.api = new apigw.HttpApi(this, 'Api', {
      description: 'Newsletter: subscribe, confirm, unsubscribe, archive',
      createDefaultStage: false,
      corsPreflight: settings.allowedOrigin
        ? {
            allowOrigins: [settings.allowedOrigin],
            allowMethods: [apigw.CorsHttpMethod.GET, apigw.CorsHttpMethod.POST],
            allowHeaders: ['content-type'],
            maxAge: Duration.hours(1),
          }
        : undefined,
    });
    const accessLogs = new logs.LogGroup(this, 'ApiAccessLogs', { retention: logs.RetentionDays.ONE_MONTH });
    const stage = new apigw.HttpStage(this, 'DefaultStage', {
      httpApi: this.api,
      stageName: '$default',
      autoDeploy: true,
      throttle: { rateLimit: settings.apiRateLimit, burstLimit: settings.apiBurstLimit },
      accessLogSettings: { destination: new apigw.LogGroupLogDestination(accessLogs) },
      // The permanent custom domain (stateful stack) points at whichever API this stack currently has.
      ...(props.apiDomainName ? { domainMapping: { domainName: props.apiDomainName } } : {}),
    });
    // Links in emails: the custom domain when there is one (stable), else this API's own endpoint, which changes
    // if this stack is ever replaced (README: Deploy to AWS).
    const publicBaseUrl = settings.apiDomain ? `https://${settings.apiDomain}` : this.api.apiEndpoint;

    const common = {
      PUBLIC_BASE_URL: publicBaseUrl,
      POSTAL_ADDRESS: settings.postalAddress,
    };
    const sendsEmail = {
      identityArns: props.identityArns,
      configurationSetName: props.configurationSetName,
      sender: settings.sender,
    };
    const rateEnv = {
      SEND_RATE_FRACTION: String(settings.sendRateFraction),
      MAX_SEND_RATE: settings.sendRate === undefined ? undefined : String(settings.sendRate),
      WORKER_CONCURRENCY: String(sizing.maxConcurrency),
    };
    // With a fixed sendRate the functions never ask SES for the account's rate, so they get no ses:GetAccount.
    const readsRate = (fn: NewsletterFunction) => (settings.sendRate === undefined ? fn.readsSesAccount() : fn);

    // ---- Queue ----
    this.deadLetterQueue = new sqs.Queue(this, 'SendDlq', {
      retentionPeriod: Duration.days(14),
      enforceSSL: true,
      encryption: sqs.QueueEncryption.SQS_MANAGED,
    });
    this.queue = new sqs.Queue(this, 'SendQueue', {
      visibilityTimeout: Duration.seconds(WORKER_TIMEOUT_SECONDS * VISIBILITY_TIMEOUT_FACTOR),
      retentionPeriod: Duration.days(4),
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: MAX_RECEIVE_COUNT },
      enforceSSL: true,
      encryption: sqs.QueueEncryption.SQS_MANAGED,
    });
    const eventsDlq = new sqs.Queue(this, 'SesEventsDlq', {
      retentionPeriod: Duration.days(14),
      enforceSSL: true,
      encryption: sqs.QueueEncryption.SQS_MANAGED,
    });
    for (const dlq of [this.deadLetterQueue, eventsDlq]) {
      acknowledge(dlq, { id: 'AwsSolutions-SQS3', reason: 'This queue is itself a dead-letter queue; it is watched by an alarm.' });
    }

    // ---- Functions ----
    const subscribers = new NewsletterFunction(this, 'Subscribers', {
      handlerName: 'subscribers',
      description: 'HTTP: subscribe (double opt-in), confirm, one-click unsubscribe, health',
      includeTemplates: true,
      memorySize: FUNCTION_MEMORY_MB.subscribers,
    })
      // Each subscribe, confirm and unsubscribe is one conditional UpdateItem; GetItem reads the record behind a
      // failed condition (to answer the same way) and an older version's exact-spelling key (resolveKey).
      .usesTable(props.table, ['GetItem', 'UpdateItem'])
      .readsTokenKeys(props.tokenSecret)
      .sendsEmail(sendsEmail)
      .withEnvironment({ ...common, ALLOWED_ORIGIN: settings.allowedOrigin });

    const archive = new NewsletterFunction(this, 'Archive', {
      handlerName: 'archive',
      description: 'HTTP: web archive of sent issues and its feed',
      includeTemplates: true,
      memorySize: FUNCTION_MEMORY_MB.archive,
    })
      // The list: a Query of the campaign index partition, then BatchGetItem of the campaigns; GetItem a campaign
      // and its rendered issue.
      .usesTable(props.table, ['GetItem', 'BatchGetItem', 'Query'])
      // The sender's display name titles the archive pages and the feed.
      .withEnvironment({ ...common, SENDER: settings.sender });

    // Not behind the API: the operator invokes it with IAM (npx newsletter send <issue.md> --aws).
    const send = new NewsletterFunction(this, 'Send', {
      handlerName: 'send',
      // Pending scheduled sends (in the stateful stack's group) name this function by ARN: a fixed name keeps them
      // working when the stateless stack is replaced (deleted, then deployed again).
      functionName: `${props.settings.stackPrefix}-send`,
      description: 'Operator: render an issue once, store it, claim the campaign, fan recipients out to SQS',
      includeTemplates: true,
      memorySize: FUNCTION_MEMORY_MB.send,
      timeout: Duration.minutes(5),
    })
      // Store the issue and start the campaign (PutItem), park recipients on resume (PutItem), move the campaign's
      // status and cursor (UpdateItem), read it (GetItem), its accounting and pending pairs (Query on the table);
      // `send --dry-run` counts unsubscribed, bounced and complained subscribers with one full Scan.
      .usesTable(props.table, ['GetItem', 'PutItem', 'UpdateItem', 'Query', 'Scan'])
      // The fan-out lists, and the audience counts, the confirmed subscribers on the sparse index.
      .queriesConfirmedIndex(props.table)
      // Issue Markdown uploaded for the `{s3Key}` input; rendered issues go to the table.
      .readsBucket(bucket)
      .sendsToQueue(this.queue)
      .readsTokenKeys(props.tokenSecret)
      // `send --test` mails the given addresses directly.
      .sendsEmail(sendsEmail)
      // The worker's deployment, so the send function sizes its messages to what one invocation can send in time.
      .withEnvironment({
        ...common,
        ...rateEnv,
        WORKER_BATCH_SIZE: String(sizing.batchSize),
        WORKER_TIMEOUT_SECONDS: String(WORKER_TIMEOUT_SECONDS),
      });
    readsRate(send);

    const worker = new NewsletterFunction(this, 'Worker', {
      handlerName: 'worker',
      description: 'SQS: personalize and send one batch of recipients through SES v2, exactly once per pair',
      memorySize: FUNCTION_MEMORY_MB.worker,
      timeout: Duration.seconds(WORKER_TIMEOUT_SECONDS),
    })
      // Subscriber statuses (BatchGetItem), the issue, campaign and pair status (GetItem), claim and outcome of
      // each pair (UpdateItem), untried recipients parked on the last receive (PutItem), and the accounting read
      // that closes the campaign (Query on the table).
      .usesTable(props.table, ['GetItem', 'BatchGetItem', 'Query', 'PutItem', 'UpdateItem'])
      .readsTokenKeys(props.tokenSecret)
      .sendsEmail(sendsEmail)
      // SQS event source: partial batch responses, and only what Lambda's poller needs on the queue.
      .consumesQueue(this.queue, { batchSize: sizing.batchSize, maxConcurrency: sizing.maxConcurrency })
      // On its last receive the worker parks the recipients it could not try (so `resume` finds them) before SQS
      // moves the message to the DLQ: it must know the queue's maxReceiveCount.
      .withEnvironment({ ...common, ...rateEnv, MAX_RECEIVE_COUNT: String(MAX_RECEIVE_COUNT) });
    readsRate(worker);

    const sesEvents = new NewsletterFunction(this, 'SesEvents', {
      handlerName: 'ses-events',
      description: 'EventBridge: SES bounce, complaint, reject and send events: suppress, settle, reconcile',
      memorySize: FUNCTION_MEMORY_MB.sesEvents,
      timeout: Duration.seconds(30),
    })
      // Idempotent event items (PutItem), suppression and pair outcomes (UpdateItem), a pair's status and the
      // subscriber behind a failed condition (GetItem).
      .usesTable(props.table, ['GetItem', 'PutItem', 'UpdateItem'])
      // EventBridge invokes asynchronously; events that still fail after Lambda's retries are kept, not dropped.
      .sendsFailedInvocationsTo(eventsDlq, { retryAttempts: 2 });
    // Only this configuration set's events (another application in the account may publish SES events to the same
    // bus), and only the types the function acts on.
    new events.Rule(this, 'SesEventsRule', {
      description: 'SES events of the newsletter configuration set that the events function acts on (not Delivery)',
      // `source` and `detail-type` as AWS documents SES events on EventBridge ("Email Bounced", ...).
      eventPattern: {
        source: ['aws.ses'],
        detailType: ROUTED_SES_DETAIL_TYPES,
        detail: {
          mail: { tags: { 'ses:configuration-set': [props.configurationSetName] } },
        },
      },
      targets: [
        // An invocation EventBridge cannot make (throttled, function missing) goes to the same DLQ after retries.
        new targets.LambdaFunction(sesEvents, {
          deadLetterQueue: eventsDlq,
          retryAttempts: SES_EVENTS_RULE_RETRIES,
          maxEventAge: Duration.hours(24),
        }),
      ],
    });

    this.functions = { subscribers, archive, send, worker, sesEvents };

    // Scheduled sends: the stateful stack's role may invoke this send function, and nothing else. Named here (not
    // grantInvoke, which adds `<arn>:*` for every version) so the statement names exactly one resource.
    new iam.Policy(this, 'ScheduleInvokeSend', {
      roles: [props.scheduleRole],
      statements: [new iam.PolicyStatement({ actions: ['lambda:InvokeFunction'], resources: [send.functionArn] })],
    });

    // ---- Routes ----
    const subscribersIntegration = new HttpLambdaIntegration('SubscribersIntegration', subscribers);
    const subscriberRoutes = SUBSCRIBER_PATHS.flatMap((path) =>
      this.api.addRoutes({ path, methods: [apigw.HttpMethod.ANY], integration: subscribersIntegration }),
    );
    const archiveIntegration = new HttpLambdaIntegration('ArchiveIntegration', archive);
    for (const path of ARCHIVE_PATHS) {
      // The archive handler answers other methods with a 405 naming GET and HEAD.
      this.api.addRoutes({ path, methods: [apigw.HttpMethod.ANY], integration: archiveIntegration });
    }
    // Unknown paths: the subscribers router's 404 page, with the same security headers as every other page.
    new apigw.HttpRoute(this.api, 'DefaultRoute', {
      httpApi: this.api,
      routeKey: apigw.HttpRouteKey.DEFAULT,
      integration: subscribersIntegration,
    });
    // /subscribe gets its own, lower throttle; the stage default covers every other route, $default included.
    const cfnStage = stage.node.defaultChild as apigw.CfnStage;
    // RouteSettings is a free-form map in the L1, so its keys are written as CloudFormation spells them.
    cfnStage.routeSettings = {
      [SUBSCRIBE_ROUTE_KEY]: { ThrottlingRateLimit: settings.subscribeRateLimit, ThrottlingBurstLimit: settings.subscribeBurstLimit },
    };
    // A stage's route settings must name an existing route.
    for (const route of subscriberRoutes) stage.node.addDependency(route);
    acknowledge(this.api, {
          id: 'AwsSolutions-APIG4',
          reason:
            'Public by design: readers subscribe and unsubscribe without an account (RFC 8058 one-click must work ' +
            'unauthenticated). Tokens are HMAC-signed, and the stage is throttled.',
        });

    // ---- Alarms ----
    this.alarmTopic = new sns.Topic(this, 'Alarms', { displayName: 'Newsletter alarms', enforceSSL: true });
    acknowledge(this.alarmTopic, {
        id: 'AwsSolutions-SNS2',
        reason:
          'CloudWatch can only publish to an encrypted topic through a customer-managed KMS key, whose default ' +
          'policy needs a kms:* statement that this project forbids; alarm notifications carry no subscriber data.',
      });
    if (settings.alarmEmail) {
      this.alarmTopic.addSubscription(new subscriptions.EmailSubscription(settings.alarmEmail));
    }
    const alarm = (id: string, props: cloudwatch.AlarmProps) => {
      const a = new cloudwatch.Alarm(this, id, { treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING, ...props });
      a.addAlarmAction(new SnsAction(this.alarmTopic));
      return a;
    };
    alarm('SendDlqDepth', {
      alarmDescription: `Recipient batches failed ${MAX_RECEIVE_COUNT} times and reached the DLQ: inspect and redrive`,
      metric: this.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(1), statistic: 'Maximum' }),
      threshold: 0,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
    });
    alarm('SesEventsDlqDepth', {
      alarmDescription: 'SES events could not be processed: bounces or complaints may not be suppressed',
      metric: eventsDlq.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(1), statistic: 'Maximum' }),
      threshold: 0,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
    });
    alarm('WorkerErrors', {
      alarmDescription: 'The send worker failed invocations (not per-recipient failures, which it reports itself)',
      metric: worker.metricErrors({ period: Duration.minutes(5), statistic: 'Sum' }),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
    });
    // SES account reputation: AWS reviews an account at 5% bounces and 0.1% complaints. Gmail's limit is 0.3%.
    alarm('BounceRate', {
      alarmDescription: 'SES bounce rate reached 5%: SES puts the account under review here; clean the list',
      metric: new cloudwatch.Metric({
        namespace: 'AWS/SES',
        metricName: 'Reputation.BounceRate',
        statistic: 'Maximum',
        period: Duration.hours(1),
      }),
      threshold: 0.05,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
    });
    alarm('ComplaintRate', {
      alarmDescription: 'SES complaint rate reached 0.1%, well before Gmail\'s 0.3% limit: stop and review',
      metric: new cloudwatch.Metric({
        namespace: 'AWS/SES',
        metricName: 'Reputation.ComplaintRate',
        statistic: 'Maximum',
        period: Duration.hours(1),
      }),
      threshold: 0.001,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
    });

    // ---- Outputs (the operator CLI reads these for --aws) ----
    new CfnOutput(this, 'ApiUrl', {
      description: "The HTTP API's own endpoint (replaced with this stack; links in emails use PublicBaseUrl)",
      value: stage.url,
    });
    new CfnOutput(this, 'PublicBaseUrl', {
      description: settings.apiDomain
        ? 'Base of every link in emails: the custom domain, stable across replacements of this stack'
        : 'Base of every link in emails: the API endpoint, which changes if this stack is replaced (set apiDomain)',
      value: publicBaseUrl,
    });
    new CfnOutput(this, 'SendFunctionName', {
      description: 'The send function the CLI invokes (newsletter send --aws; lambda:InvokeFunction)',
      value: send.functionName,
    });
    new CfnOutput(this, 'SendFunctionArn', {
      description: 'The send function, as a scheduled send targets it (newsletter send --at)',
      value: send.functionArn,
    });
    new CfnOutput(this, 'Sender', {
      description: 'From address of every email (the CLI sends confirmation emails for subscribers import --aws)',
      value: settings.sender,
    });
    new CfnOutput(this, 'QueueUrl', { description: 'Recipient batches waiting for the worker', value: this.queue.queueUrl });
    new CfnOutput(this, 'DeadLetterQueueUrl', {
      description: `Batches that failed ${MAX_RECEIVE_COUNT} times: inspect, then redrive`,
      value: this.deadLetterQueue.queueUrl,
    });
    new CfnOutput(this, 'AlarmTopicArn', { description: 'Every alarm notifies this topic', value: this.alarmTopic.topicArn });
    new CfnOutput(this, 'WorkerSizing', {
      description: 'Worker concurrency and batch size derived from sendRate (infra/settings.ts workerSizing)',
      value: `maxConcurrency=${sizing.maxConcurrency} batchSize=${sizing.batchSize} rate=${sizing.rate}/s`,
    });
  }
}
