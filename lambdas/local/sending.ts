/**
 * The sending pipeline on the local stack: the send Lambda, the worker (driven by the in-process queue) and the
 * SES events handler, wired to the emulators (dynalite, aws-ses-v2-local) through the real AWS SDK clients, and
 * to the data directory for rendered issues.
 *
 * The stack owner calls `attachSending(stack, options)` once, then exposes `invokeSend` over HTTP as Lambda's
 * Invoke API (`POST /2015-03-31/functions/send/invocations`; see `handleInvokeRequest`), so the CLI can use
 * @aws-sdk/client-lambda with a local endpoint exactly as on AWS.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { SESv2Client } from '@aws-sdk/client-sesv2';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DynamoDbCampaignRepository } from '../adapters/dynamodb/dynamodb-campaign-repository.ts';
import { DynamoDbSubscriberRepository } from '../adapters/dynamodb/dynamodb-subscriber-repository.ts';
import { FsIssueStore } from '../adapters/fs/fs-issue-store.ts';
import { SesMailer } from '../adapters/ses/ses-mailer.ts';
import { compilePersonalizer } from '../core/issue/personalize.ts';
import type { Clock, Mailer, TokenKeys } from '../core/ports.ts';
import { systemClock } from '../core/ports.ts';
import { Pacer, type Sleeper } from '../core/sending/rate-limiter.ts';
import { renderForSend } from '../core/sending/render-for-send.ts';
import type { RenderForSend, SendInput, ResumeInput, SendResult } from '../core/sending/send-campaign.ts';
import { unsubscribeTokenSigner } from '../core/sending/unsubscribe-token.ts';
import type { WorkerLogger } from '../core/sending/worker.ts';
import { DOCUMENT_CLIENT_OPTIONS } from '../runtime/aws-clients.ts';
import { createSendHandler, type InvokeContext } from '../handlers/send.ts';
import { createSesEventsHandler } from '../handlers/ses-events.ts';
import { createWorkerHandler } from '../handlers/worker.ts';
import { LOCAL_CREDENTIALS, LOCAL_REGION, localDynamoClient } from './emulators.ts';
import { LocalQueue, type LocalQueueOptions } from './queue/local-queue.ts';

/** What the sending pipeline needs from the local stack (a subset of what startLocalStack returns). */
export interface SendingStackLike {
  dynamoEndpoint: string;
  sesEndpoint: string;
  tableName: string;
  /** Rendered issues go to `<dataDir>/issues/<slug>.json`. */
  dataDir: string;
  /** Base URL of the local HTTP API (unsubscribe and archive links), no trailing slash. */
  publicBaseUrl: string;
}

export interface SendingOptions {
  sender: string;
  postalAddress: string;
  tokenKeys: TokenKeys;
  configurationSet?: string;
  /** Fraction of MaxSendRate (default 0.8). */
  rateFraction?: number;
  /** Fixed MaxSendRate instead of reading GetAccount from the emulator. */
  maxSendRate?: number;
  /** In-process queue settings (batch size, concurrency, visibility timeout, max receives). */
  queue?: LocalQueueOptions;
  /** Recipients of one message sent in parallel (default 8). */
  workerConcurrency?: number;
  /** Replace the SES transport (fault-injection tests only). */
  mailer?: Mailer;
  /** Replace the renderer (tests). */
  render?: RenderForSend;
  clock?: Clock;
  time?: Sleeper;
  /** Subscribers per fan-out page (default 500). */
  pageSize?: number;
  /** Backoff base after throttling (default 200 ms). */
  backoffMs?: number;
  log?: WorkerLogger;
}

export interface AttachedSending {
  /** The send Lambda, as its Invoke API would run it (`context` as Lambda's, for the remaining time). */
  invokeSend(event: SendInput | ResumeInput | unknown, context?: InvokeContext): Promise<SendResult>;
  /** The worker Lambda (the queue calls it; tests may too). */
  worker: ReturnType<typeof createWorkerHandler>;
  /** The SES events Lambda. */
  handleSesEvent(event: unknown): ReturnType<ReturnType<typeof createSesEventsHandler>>;
  queue: LocalQueue;
  campaigns: DynamoDbCampaignRepository;
  subscribers: DynamoDbSubscriberRepository;
  issues: FsIssueStore;
  mailer: Mailer;
  /** Resolves when the queue is empty (dead letters excepted). */
  drain(): Promise<void>;
  /** Stop the consumer and release the SDK clients. */
  stop(): Promise<void>;
}

export const SEND_FUNCTION_NAME = 'send';
export const INVOKE_PATH = `/2015-03-31/functions/${SEND_FUNCTION_NAME}/invocations`;

export function attachSending(stack: SendingStackLike, options: SendingOptions): AttachedSending {
  const clock = options.clock ?? systemClock;
  const ddb = localDynamoClient(stack.dynamoEndpoint);
  const doc = DynamoDBDocumentClient.from(ddb, DOCUMENT_CLIENT_OPTIONS);
  const ses = new SESv2Client({ endpoint: stack.sesEndpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
  const mailer = options.mailer ?? new SesMailer(ses);
  const campaigns = new DynamoDbCampaignRepository(doc, stack.tableName);
  const subscribers = new DynamoDbSubscriberRepository(doc, stack.tableName);
  const issues = new FsIssueStore(stack.dataDir);
  const queue = new LocalQueue(options.queue);
  const fraction = options.rateFraction ?? 0.8;
  const readMaxRate = async () => options.maxSendRate ?? (await mailer.getSendQuota()).maxSendRate;
  const compose = {
    sender: options.sender,
    publicBaseUrl: stack.publicBaseUrl.replace(/\/+$/, ''),
    unsubscribeToken: unsubscribeTokenSigner(options.tokenKeys, clock),
    ...(options.configurationSet ? { configurationSet: options.configurationSet } : {}),
  };

  const send = createSendHandler({
    ...compose,
    render: options.render ?? renderForSend({ postalAddress: options.postalAddress }),
    issues,
    campaigns,
    subscribers,
    queue,
    mailer,
    compilePersonalizer,
    sendRate: async () => (await readMaxRate()) * fraction,
    clock,
    ...(options.pageSize ? { pageSize: options.pageSize } : {}),
    ...(options.time ? { time: options.time } : {}),
  });

  // Locally one consumer (the queue, at its concurrency) paces at the full rate: a single shared Pacer.
  const worker = createWorkerHandler({
    ...compose,
    subscribers,
    campaigns,
    mailer,
    issues,
    pacer: new Pacer(readMaxRate, { fraction, ...(options.time ? { time: options.time } : {}) }),
    compilePersonalizer,
    clock,
    maxReceiveCount: options.queue?.maxReceiveCount ?? 5,
    ...(options.workerConcurrency ? { concurrency: options.workerConcurrency } : {}),
    ...(options.backoffMs !== undefined ? { backoffMs: options.backoffMs } : {}),
    ...(options.time ? { time: options.time } : {}),
    ...(options.log ? { log: options.log } : {}),
  });
  queue.consume(worker);

  const events = createSesEventsHandler({ subscribers, campaigns, clock });

  return {
    invokeSend: (event, context) => send(event, context),
    worker,
    handleSesEvent: events,
    queue,
    campaigns,
    subscribers,
    issues,
    mailer,
    drain: () => queue.drain(),
    async stop() {
      await queue.stop();
      ddb.destroy();
      ses.destroy();
    },
  };
}

/**
 * Serve Lambda's Invoke API for the send function on an existing HTTP server. Returns false when the request is
 * not for it (let the next route handle it). The result goes back as the JSON payload with status 200; a thrown
 * fault becomes `X-Amz-Function-Error: Unhandled`, as Lambda reports it.
 */
export async function handleInvokeRequest(sending: Pick<AttachedSending, 'invokeSend'>, req: IncomingMessage, res: ServerResponse): Promise<boolean> {
  const path = (req.url ?? '').split('?')[0];
  if (req.method !== 'POST' || path !== INVOKE_PATH) return false;
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  let event: unknown;
  try {
    const raw = Buffer.concat(chunks).toString('utf8');
    event = raw ? JSON.parse(raw) : {};
  } catch {
    res.writeHead(400, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ Type: 'User', message: 'Could not parse request body into json' }));
    return true;
  }
  try {
    const result = await sending.invokeSend(event);
    res.writeHead(200, { 'content-type': 'application/json', 'x-amz-executed-version': '$LATEST' });
    res.end(JSON.stringify(result));
  } catch (err) {
    const e = err as Error;
    res.writeHead(200, { 'content-type': 'application/json', 'x-amz-function-error': 'Unhandled' });
    res.end(JSON.stringify({ errorType: e?.name ?? 'Error', errorMessage: String(e?.message ?? err).split('\n')[0] }));
  }
  return true;
}
