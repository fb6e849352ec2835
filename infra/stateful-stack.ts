/**
 * What outlives a deployment: subscribers (DynamoDB), uploaded issues (S3), the token-signing key, the SES sending
 * setup, the API's custom domain (every link in every email sent points at it) and the schedule group holding
 * scheduled sends. Everything here is retained when the stack is deleted, or is cheap to recreate with the same name.
 */
import { Aws, CfnOutput, Duration, Fn, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigatewayv2';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as route53 from 'aws-cdk-lib/aws-route53';
import * as route53Targets from 'aws-cdk-lib/aws-route53-targets';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
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

/** The schedule group holding scheduled sends (`newsletter send --at`): `newsletter` for the default stack prefix. */
export function scheduleGroupName(stackPrefix: string): string {
  return stackPrefix.toLowerCase();
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
  /** The API's custom domain (with `apiDomain`); the stateless stack maps its API onto it. */
  readonly apiDomainName: apigw.DomainName | undefined;
  /** The schedule group and the role EventBridge Scheduler assumes; the stateless stack grants it the invoke. */
  readonly scheduleGroup: scheduler.ScheduleGroup;
  readonly scheduleRole: iam.Role;

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

    this.apiDomainName = settings.apiDomain ? this.customDomain(settings, settings.apiDomain) : undefined;

    // ---- Scheduled sends (issue 15): the operator's CLI creates one-time schedules in this group ----
    // Here, not in the stateless stack: deleting a group deletes its schedules, and schedules name the role's ARN.
    this.scheduleGroup = new scheduler.ScheduleGroup(this, 'ScheduleGroup', {
      scheduleGroupName: scheduleGroupName(settings.stackPrefix),
      removalPolicy: RemovalPolicy.RETAIN,
    });
    // Only Scheduler, and only for schedules of this group in this account (confused-deputy protection). The
    // permission to invoke the send function is added by the stateless stack, which owns the function.
    this.scheduleRole = new iam.Role(this, 'ScheduleRole', {
      description: 'Assumed by EventBridge Scheduler to invoke the send function for a scheduled send',
      assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com', {
        conditions: {
          StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID },
          ArnEquals: { 'aws:SourceArn': this.scheduleGroup.scheduleGroupArn },
        },
      }),
    });

    // ---- Outputs (the operator CLI reads them from cdk-outputs.json: bin/commands/aws-outputs.ts) ----
    new CfnOutput(this, 'TableName', {
      description: 'Subscribers, campaigns and rendered issues (CLI: subscribers, status, send --aws)',
      value: this.table.tableName,
    });
    new CfnOutput(this, 'IssueBucketName', {
      description: 'Upload issue Markdown here to send it by {s3Key} (newsletter send --s3)',
      value: this.bucket.bucketName,
    });
    new CfnOutput(this, 'TokenSecretArn', {
      description: 'HMAC keys of confirm and unsubscribe links (rotation: README)',
      value: this.tokenSecret.secretArn,
    });
    new CfnOutput(this, 'ConfigurationSetName', {
      description: 'SES configuration set every email is sent with (events, suppression)',
      value: this.configurationSet.configurationSetName,
    });
    new CfnOutput(this, 'ScheduleGroupName', {
      description: 'EventBridge Scheduler group of scheduled sends (newsletter send --at)',
      value: this.scheduleGroup.scheduleGroupName,
    });
    new CfnOutput(this, 'ScheduleRoleArn', {
      description: 'Role a scheduled send runs as (the operator needs iam:PassRole on it)',
      value: this.scheduleRole.roleArn,
    });
  }

  /**
   * The API's custom domain: a regional API Gateway domain name with a DNS-validated ACM certificate (or the one
   * given), TLS 1.2. With a Route 53 zone the certificate validates itself and the alias record is created; otherwise
   * the records are outputs. Permanent, so links in sent emails survive replacing the stateless stack.
   */
  private customDomain(settings: Settings, apiDomain: string): apigw.DomainName {
    const zone =
      settings.hostedZoneId && settings.domain
        ? route53.HostedZone.fromHostedZoneAttributes(this, 'HostedZone', { hostedZoneId: settings.hostedZoneId, zoneName: settings.domain })
        : undefined;
    const certificate = settings.certificateArn
      ? acm.Certificate.fromCertificateArn(this, 'ApiCertificate', settings.certificateArn)
      : new acm.Certificate(this, 'ApiCertificate', {
          domainName: apiDomain,
          validation: acm.CertificateValidation.fromDns(zone),
        });
    if (certificate instanceof acm.Certificate) certificate.applyRemovalPolicy(RemovalPolicy.RETAIN);
    const domainName = new apigw.DomainName(this, 'ApiDomain', {
      domainName: apiDomain,
      certificate,
      endpointType: apigw.EndpointType.REGIONAL,
      securityPolicy: apigw.SecurityPolicy.TLS_1_2,
    });
    domainName.applyRemovalPolicy(RemovalPolicy.RETAIN);

    if (zone) {
      new route53.ARecord(this, 'ApiAliasRecord', {
        zone,
        recordName: apiDomain,
        target: route53.RecordTarget.fromAlias(
          new route53Targets.ApiGatewayv2DomainProperties(domainName.regionalDomainName, domainName.regionalHostedZoneId),
        ),
      });
    } else {
      new CfnOutput(this, 'ApiDomainRecord', {
        description: `DNS record to create so ${apiDomain} reaches the API (an ALIAS/ANAME works too at a zone apex)`,
        value: Fn.join(' ', [apiDomain, 'CNAME', domainName.regionalDomainName]),
      });
    }
    if (certificate instanceof acm.Certificate && !zone) {
      new CfnOutput(this, 'ApiCertificateArn', {
        description:
          'The first deploy waits until its validation CNAME resolves: create the record CloudFormation shows in the ' +
          'stack events ("Content of DNS Record is"), also in `aws acm describe-certificate`',
        value: certificate.certificateArn,
      });
    }
    return domainName;
  }
}
