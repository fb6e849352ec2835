/**
 * What outlives a deployment: subscribers (DynamoDB), rendered issues (S3), the token-signing key, and the SES
 * sending setup. Everything here is retained when the stack is deleted.
 */
import { Aws, CfnOutput, Duration, Fn, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as ses from 'aws-cdk-lib/aws-ses';
import * as events from 'aws-cdk-lib/aws-events';
import { acknowledge } from './nag.ts';
import type { Construct } from 'constructs';
import { TTL_ATTRIBUTE, tableDefinition } from '../lambdas/adapters/dynamodb/table.ts';
import type { Settings } from './settings.ts';

export interface StatefulStackProps extends StackProps {
  readonly settings: Settings;
}

/**
 * SES event types the configuration set publishes to the account's default EventBridge bus (the set issue 5 asks
 * for). Which of them reach the events function is the stateless stack's rule (ROUTED_SES_EVENT_TYPES in settings.ts).
 */
export const SES_EVENT_TYPES = [
  ses.EmailSendingEvent.SEND,
  ses.EmailSendingEvent.REJECT,
  ses.EmailSendingEvent.DELIVERY,
  ses.EmailSendingEvent.BOUNCE,
  ses.EmailSendingEvent.COMPLAINT,
];

/**
 * Secret JSON written at creation: `{"current":"k1","k1":"<64 random alphanumerics>"}`. Every top-level key other
 * than `current` is a key id; rotating means adding `"k2":"…"` and setting `"current":"k2"` while keeping k1, so
 * tokens in emails already sent still verify. (Secrets Manager can generate only one top-level key, hence no nesting.)
 */
export const TOKEN_SECRET_TEMPLATE = { current: 'k1' } as const;
export const TOKEN_SECRET_GENERATED_KEY = 'k1';

/**
 * The bucket's name, derived from the stack prefix, account and region. The stateless stack rebuilds the ARN from
 * the same name instead of importing it, so its policies (and their cdk-nag acknowledgements) hold no cross-stack
 * token, and the stacks stay loosely coupled.
 */
export function issuesBucketName(stackPrefix: string): string {
  return `${stackPrefix.toLowerCase()}-issues-${Aws.ACCOUNT_ID}-${Aws.REGION}`;
}

type KeyElement = { AttributeName?: string; KeyType?: string };

function keyOf(schema: KeyElement[] | undefined, type: 'HASH' | 'RANGE'): dynamodb.Attribute | undefined {
  const name = schema?.find((k) => k.KeyType === type)?.AttributeName;
  // table.ts declares every key attribute as a string.
  return name ? { name, type: dynamodb.AttributeType.STRING } : undefined;
}

export class StatefulStack extends Stack {
  readonly table: dynamodb.Table;
  readonly bucket: s3.Bucket;
  readonly tokenSecret: secretsmanager.Secret;
  readonly configurationSet: ses.ConfigurationSet;
  readonly emailIdentity: ses.EmailIdentity | undefined;
  /** SES identity ARNs the senders may use: the address, its domain and the configured domain. */
  readonly identityArns: string[];

  constructor(scope: Construct, id: string, props: StatefulStackProps) {
    super(scope, id, props);
    const { settings } = props;

    // The same definition the local stack creates, so the code and the deployed table never disagree.
    const def = tableDefinition('unused');
    this.table = new dynamodb.Table(this, 'Table', {
      partitionKey: keyOf(def.KeySchema, 'HASH')!,
      sortKey: keyOf(def.KeySchema, 'RANGE'),
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      timeToLiveAttribute: TTL_ATTRIBUTE,
      deletionProtection: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    for (const gsi of def.GlobalSecondaryIndexes ?? []) {
      this.table.addGlobalSecondaryIndex({
        indexName: gsi.IndexName!,
        partitionKey: keyOf(gsi.KeySchema, 'HASH')!,
        sortKey: keyOf(gsi.KeySchema, 'RANGE'),
        projectionType: gsi.Projection?.ProjectionType as dynamodb.ProjectionType,
        nonKeyAttributes: gsi.Projection?.NonKeyAttributes,
      });
    }

    this.bucket = new s3.Bucket(this, 'Bucket', {
      bucketName: issuesBucketName(settings.stackPrefix),
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      minimumTLSVersion: 1.2,
      // An uploaded issue's Markdown may be overwritten: keep the previous version for a month to undo mistakes.
      versioned: true,
      lifecycleRules: [{ noncurrentVersionExpiration: Duration.days(30) }],
      removalPolicy: RemovalPolicy.RETAIN,
    });
    acknowledge(this.bucket, {
        id: 'AwsSolutions-S1',
        reason:
          'Private bucket for issue Markdown the operator uploads and only the send function reads, through its role; ' +
          'rendered issues and the public archive are served from the table via the API, whose access log records ' +
          'every request. A log bucket would add a second bucket with no reader.',
      });

    this.tokenSecret = new secretsmanager.Secret(this, 'TokenKeys', {
      description: 'HMAC keys for confirm and unsubscribe tokens: {"current":"<kid>","<kid>":"<key>",...}',
      generateSecretString: {
        secretStringTemplate: JSON.stringify(TOKEN_SECRET_TEMPLATE),
        generateStringKey: TOKEN_SECRET_GENERATED_KEY,
        passwordLength: 64,
        excludePunctuation: true,
      },
      removalPolicy: RemovalPolicy.RETAIN,
    });
    acknowledge(this.tokenSecret, {
        id: 'AwsSolutions-SMG4',
        reason:
          'Token keys rotate by adding a key id and switching "current" while old ids stay valid for links in sent ' +
          'emails; an automatic replace-the-value rotation would break every unsubscribe link. Rotation is an ' +
          'operator step documented in the README.',
      });

    this.configurationSet = new ses.ConfigurationSet(this, 'ConfigurationSet', {
      reputationMetrics: true,
      sendingEnabled: true,
      // SES's account suppression list also stops addresses that bounced or complained.
      suppressionReasons: ses.SuppressionReasons.BOUNCES_AND_COMPLAINTS,
    });
    // The default bus, not an SNS topic: an SNS topic bills every publish (two per email: Send + Delivery), while
    // SES's events on the default bus are AWS service events, which EventBridge does not bill per event (the
    // assumption is stated in bench/cost-model.ts); and a rule picks the few types worth a Lambda invocation
    // (stateless stack). SES supports only the default bus.
    this.configurationSet.addEventDestination('Events', {
      destination: ses.EventDestination.eventBus(events.EventBus.fromEventBusName(this, 'DefaultBus', 'default')),
      events: SES_EVENT_TYPES,
    });

    const identityArn = (name: string) => this.formatArn({ service: 'ses', resource: 'identity', resourceName: name });
    const names = new Set([settings.senderEmail, settings.senderDomain, ...(settings.domain ? [settings.domain] : [])]);
    this.identityArns = [...names].map(identityArn);

    if (settings.domain) {
      const domain = settings.domain;
      const mailFrom = `mail.${domain}`;
      this.emailIdentity = new ses.EmailIdentity(this, 'DomainIdentity', {
        identity: ses.Identity.domain(domain),
        dkimIdentity: ses.DkimIdentity.easyDkim(ses.EasyDkimSigningKeyLength.RSA_2048_BIT),
        dkimSigning: true,
        mailFromDomain: mailFrom,
        mailFromBehaviorOnMxFailure: ses.MailFromBehaviorOnMxFailure.USE_DEFAULT_VALUE,
        configurationSet: this.configurationSet,
      });
      this.emailIdentity.dkimRecords.forEach((record, i) => {
        new CfnOutput(this, `DkimRecord${i + 1}`, {
          description: `DNS record to create for Easy DKIM (${i + 1} of 3)`,
          value: Fn.join(' ', [record.name, 'CNAME', record.value]),
        });
      });
      new CfnOutput(this, 'MailFromMxRecord', {
        description: 'DNS record for the custom MAIL FROM domain (bounces return here)',
        value: `${mailFrom} MX 10 feedback-smtp.${this.region}.amazonses.com`,
      });
      new CfnOutput(this, 'MailFromTxtRecord', {
        description: 'SPF for the custom MAIL FROM domain',
        value: `${mailFrom} TXT "v=spf1 include:amazonses.com ~all"`,
      });
      new CfnOutput(this, 'DmarcRecord', {
        description: 'Suggested DMARC policy: start with p=none, read the reports, then tighten to quarantine',
        value: `_dmarc.${domain} TXT "v=DMARC1; p=none; rua=mailto:dmarc@${domain}"`,
      });
    }

    new CfnOutput(this, 'TableName', { value: this.table.tableName });
    new CfnOutput(this, 'BucketName', { value: this.bucket.bucketName });
    new CfnOutput(this, 'TokenSecretArn', { value: this.tokenSecret.secretArn });
    new CfnOutput(this, 'ConfigurationSetName', { value: this.configurationSet.configurationSetName });
  }
}
