/**
 * What `send`, `status`, `resume` and `cancel` work on: the running local stack (its HTTP server speaks Lambda's
 * Invoke API and the EventBridge Scheduler API) or, with `--aws`, the deployed stack named by its outputs
 * (bin/commands/aws-outputs.ts: cdk-outputs.json, CDK_OUTPUTS_FILE or the environment).
 */
import { createHash } from 'node:crypto';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { SchedulerClient } from '@aws-sdk/client-scheduler';
import type { CampaignRepository } from '../../lambdas/core/ports.ts';
import type { SendResult } from '../../lambdas/core/sending/send-campaign.ts';
import { LOCAL_CREDENTIALS, LOCAL_HTTP_AGENT, LOCAL_REGION } from '../../lambdas/local/emulators.ts';
import { SCHEDULE_GROUP_NAME, SCHEDULE_ROLE_ARN, SEND_FUNCTION_ARN, SEND_FUNCTION_NAME } from '../../lambdas/local/names.ts';
import { awsStackOutputs, readStackOutputs, type AwsStackOutputs } from './aws-outputs.ts';
import { CliError, EXIT, isConnectionError } from './common.ts';
import { ScheduledSends } from './schedule.ts';
import { openTable } from './table.ts';

type Env = Record<string, string | undefined>;

export interface SendTarget {
  /** Invoke the send function synchronously (RequestResponse: up to 6 MB of input) and return its result. */
  invoke(payload: unknown): Promise<SendResult>;
  campaigns: CampaignRepository;
  /** Scheduled sends; undefined on AWS when the outputs name no schedule group. */
  schedules?: ScheduledSends;
  /** Upload an issue's Markdown to the issue bucket and return its key (AWS only, with IssueBucketName). */
  upload?(markdown: string, slug: string): Promise<string>;
  /** How often to poll the accounting (each poll is one Query over the campaign partition). */
  pollMs: number;
  /** "the local stack" or "AWS", for messages. */
  where: string;
  close(): void;
}

/**
 * Open the target. `invoke` says whether the send function is needed (send, resume): on AWS that requires its
 * name among the outputs; `status` and `cancel` only read the table and the schedules.
 */
export async function openSendTarget(opts: { aws?: boolean }, env: Env = process.env, needs: 'invoke' | 'read' = 'invoke'): Promise<SendTarget> {
  const outputs: Partial<AwsStackOutputs> | undefined = opts.aws ? await (needs === 'invoke' ? awsStackOutputs(env) : readStackOutputs(env)) : undefined;
  const table = await openTable({ aws: !!opts.aws }, env);
  const clients: Array<{ destroy(): void }> = [];
  const track = <C extends { destroy(): void }>(c: C): C => (clients.push(c), c);
  const region = outputs?.region ? { region: outputs.region } : {};
  const localClient = table.local
    ? { endpoint: table.local.baseUrl, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS, maxAttempts: 1, requestHandler: { httpAgent: LOCAL_HTTP_AGENT } }
    : undefined;
  const where = table.local ? 'the local stack' : 'AWS';

  const lambda = track(new LambdaClient(localClient ?? region));
  const functionName = table.local ? SEND_FUNCTION_NAME : (outputs?.sendFunctionName ?? '');

  let schedules: ScheduledSends | undefined;
  if (table.local) {
    schedules = new ScheduledSends({
      client: track(new SchedulerClient(localClient!)),
      groupName: SCHEDULE_GROUP_NAME,
      create: { functionArn: SEND_FUNCTION_ARN, roleArn: SCHEDULE_ROLE_ARN },
      where,
    });
  } else if (outputs?.scheduleGroupName) {
    const functionArn = outputs.sendFunctionArn;
    const roleArn = outputs.scheduleRoleArn;
    schedules = new ScheduledSends({
      client: track(new SchedulerClient(region)),
      groupName: outputs.scheduleGroupName,
      ...(functionArn && roleArn ? { create: { functionArn, roleArn } } : {}),
      where,
    });
  }

  const bucket = outputs?.bucketName;
  const upload = bucket
    ? async (markdown: string, slug: string) => {
        const s3 = track(new S3Client(region));
        const key = issueKey(markdown, slug);
        try {
          await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: markdown, ContentType: 'text/markdown; charset=utf-8' }));
        } catch (err) {
          const e = err as { name?: string; message?: string };
          throw new CliError(`cannot upload the issue to s3://${bucket}/${key}: ${e.message ?? e.name}`, isConnectionError(err) ? EXIT.UNREACHABLE : EXIT.FAILED);
        }
        return key;
      }
    : undefined;

  return {
    campaigns: table.campaigns,
    ...(schedules ? { schedules } : {}),
    ...(upload ? { upload } : {}),
    pollMs: table.local ? 250 : 5000,
    where,
    close() {
      for (const c of clients) c.destroy();
      table.close();
    },
    async invoke(payload) {
      let out;
      try {
        out = await lambda.send(new InvokeCommand({ FunctionName: functionName, Payload: Buffer.from(JSON.stringify(payload)) }));
      } catch (err) {
        const e = err as { name?: string; message?: string; $metadata?: { httpStatusCode?: number } };
        if (table.local && e.$metadata?.httpStatusCode === 404) {
          throw new CliError('the local stack does not serve the send function yet (restart it with `npm start`)', EXIT.UNREACHABLE);
        }
        // Only no answer at all is "unreachable" (exit 3); a refusal (AccessDenied, a wrong function name) is an
        // answer, and retrying or starting the stack would not help.
        throw new CliError(`cannot invoke the send function: ${e.message ?? e.name}`, isConnectionError(err) ? EXIT.UNREACHABLE : EXIT.FAILED);
      }
      const text = out.Payload ? Buffer.from(out.Payload).toString('utf8') : '';
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch {
        throw new CliError('the send function returned something that is not JSON', EXIT.FAILED);
      }
      if (out.FunctionError) {
        const msg = (body as { errorMessage?: string }).errorMessage ?? out.FunctionError;
        throw new CliError(`the send function failed: ${msg}`, EXIT.FAILED);
      }
      return body as SendResult;
    },
  };
}

/**
 * `issues/<slug>-<first 12 hex of its SHA-256>.md`: readable in the bucket, and each revision its own object, so a
 * later upload never changes the Markdown a scheduled send points at.
 */
export function issueKey(markdown: string, slug: string): string {
  return `issues/${slug}-${createHash('sha256').update(markdown).digest('hex').slice(0, 12)}.md`;
}
