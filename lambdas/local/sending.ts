/**
 * The sending pipeline on the local stack: the send Lambda, the worker (driven by the in-process queue) and the
 * SES events handler, wired to the emulators (dynalite, aws-ses-v2-local) through the real AWS SDK clients.
 *
 * The local stack calls `attachSendingToStack(stack)` once: it wires everything and serves the send Lambda's
 * Invoke API (`POST /2015-03-31/functions/send/invocations`) on the stack's HTTP server, so the CLI can use
 * @aws-sdk/client-lambda with the stack's base URL as endpoint, exactly as on AWS.
 */
import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2 } from 'aws-lambda';
import { SESv2Client } from '@aws-sdk/client-sesv2';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DynamoDbCampaignRepository } from '../adapters/dynamodb/dynamodb-campaign-repository.ts';
import { DynamoDbSubscriberRepository } from '../adapters/dynamodb/dynamodb-subscriber-repository.ts';
import { DynamoDbIssueStore } from '../adapters/dynamodb/dynamodb-issue-store.ts';
import { SES_SEND_CLIENT_OPTIONS, SesMailer } from '../adapters/ses/ses-mailer.ts';
import { compilePersonalizer } from '../core/issue/personalize.ts';
import type { Clock, Mailer, Queue, TokenKeys } from '../core/ports.ts';
import { systemClock } from '../core/ports.ts';
import { Pacer, type Sleeper } from '../core/sending/rate-limiter.ts';
import { renderForSend } from '../core/sending/render-for-send.ts';
import type { RenderForSend, SendInput, ResumeInput, SendResult } from '../core/sending/send-campaign.ts';
import { unsubscribeTokenSigner } from '../core/sending/unsubscribe-token.ts';
import type { WorkerLogger } from '../core/sending/worker.ts';
import { DOCUMENT_CLIENT_OPTIONS } from '../runtime/aws-clients.ts';
import { LOCAL_POSTAL_ADDRESS } from '../runtime/local.ts';
import { createSendHandler, type InvokeContext } from '../handlers/send.ts';
import { createSesEventsHandler } from '../handlers/ses-events.ts';
import { createWorkerHandler } from '../handlers/worker.ts';
import { LOCAL_CREDENTIALS, LOCAL_HTTP_AGENT, LOCAL_REGION, localDynamoClient } from './emulators.ts';
import { SEND_FUNCTION_NAME } from './names.ts';
import { LocalQueue, type LocalQueueOptions } from './queue/local-queue.ts';

/** What the sending pipeline needs from the local stack (a subset of what startLocalStack returns). */
export interface SendingStackLike {
  dynamoEndpoint: string;
  sesEndpoint: string;
  tableName: string;
  /** Base URL of the local HTTP API (unsubscribe and archive links), no trailing slash. */
  publicBaseUrl: string;
}

export interface SendingOptions {
  sender: string;
  postalAddress: string;
  /** Token keys, or their async loader (the local stack's `deps.tokenKeys`). */
  tokenKeys: TokenKeys | (() => Promise<TokenKeys>);
  configurationSet?: string;
  /** Fraction of MaxSendRate (default 0.8). */
  rateFraction?: number;
  /** Fixed MaxSendRate instead of reading GetAccount from the emulator. */
  maxSendRate?: number;
  /**
   * In-process queue settings (batch size, concurrency, visibility timeout, max receives, and `timeoutMs`: the
   * worker's local function timeout, default 300 s as on AWS, from which its remaining time counts down).
   */
  queue?: LocalQueueOptions;
  /**
   * Where the send Lambda enqueues instead of the in-process queue (benchmarks: a counting sink, to measure the
   * fan-out without workers). The worker then receives nothing.
   */
  sendQueue?: Queue;
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
  /** The worker stops claiming with less than this left of `queue.timeoutMs` (default 20 s, as on AWS). */
  deadlineMarginMs?: number;
  /** Receives without progress before the worker gives up on a message and pauses the campaign (default 5). */
  maxIdleReceives?: number;
  /** Where the worker and the SES events handler log (default: nowhere). */
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
  issues: DynamoDbIssueStore;
  mailer: Mailer;
  /** The DynamoDB client every repository here uses (benchmarks and tests count its calls). */
  dynamo: ReturnType<typeof localDynamoClient>;
  /** Resolves when the queue is empty (dead letters excepted). */
  drain(): Promise<void>;
  /** Stop the consumer and release the SDK clients. */
  stop(): Promise<void>;
}

export const INVOKE_PATH = `/2015-03-31/functions/${SEND_FUNCTION_NAME}/invocations`;

export function attachSending(stack: SendingStackLike, options: SendingOptions): AttachedSending {
  const clock = options.clock ?? systemClock;
  const ddb = localDynamoClient(stack.dynamoEndpoint);
  const doc = DynamoDBDocumentClient.from(ddb, DOCUMENT_CLIENT_OPTIONS);
  // The same SES client options as the worker on AWS: one attempt per call, bounded timeouts.
  const ses = new SESv2Client({
    ...SES_SEND_CLIENT_OPTIONS,
    requestHandler: { ...SES_SEND_CLIENT_OPTIONS.requestHandler, httpAgent: LOCAL_HTTP_AGENT },
    endpoint: stack.sesEndpoint,
    region: LOCAL_REGION,
    credentials: LOCAL_CREDENTIALS,
  });
  const mailer = options.mailer ?? new SesMailer(ses);
  const campaigns = new DynamoDbCampaignRepository(doc, stack.tableName);
  const subscribers = new DynamoDbSubscriberRepository(doc, stack.tableName);
  const issues = new DynamoDbIssueStore(doc, stack.tableName);
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
    queue: options.sendQueue ?? queue,
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
    ...(options.deadlineMarginMs !== undefined ? { deadlineMarginMs: options.deadlineMarginMs } : {}),
    maxIdleReceives: options.maxIdleReceives ?? 5,
    ...(options.time ? { time: options.time } : {}),
    ...(options.log ? { log: options.log } : {}),
  });
  queue.consume(worker);

  const events = createSesEventsHandler({ subscribers, campaigns, clock }, options.log ? { log: options.log } : {});

  return {
    invokeSend: (event, context) => send(event, context),
    worker,
    handleSesEvent: events,
    queue,
    campaigns,
    subscribers,
    issues,
    mailer,
    dynamo: ddb,
    drain: () => queue.drain(),
    async stop() {
      await queue.stop();
      ddb.destroy();
      ses.destroy();
    },
  };
}

/**
 * The Invoke API as an API Gateway v2-style handler, for the local stack's route table:
 * `stack.addRoute(INVOKE_PATH, createInvokeRoute(sending))`.
 */
export function createInvokeRoute(sending: Pick<AttachedSending, 'invokeSend'>): (event: APIGatewayProxyEventV2) => Promise<APIGatewayProxyResultV2> {
  return async (event): Promise<APIGatewayProxyResultV2> => {
    if (event.requestContext?.http?.method !== 'POST' || event.rawPath !== INVOKE_PATH) {
      return { statusCode: 404, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ message: 'Function not found' }) };
    }
    let payload: unknown;
    try {
      const raw = event.body ? (event.isBase64Encoded ? Buffer.from(event.body, 'base64').toString('utf8') : event.body) : '';
      payload = raw ? JSON.parse(raw) : {};
    } catch {
      return { statusCode: 400, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ Type: 'User', message: 'Could not parse request body into json' }) };
    }
    try {
      const result = await sending.invokeSend(payload);
      return { statusCode: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify(result) };
    } catch (err) {
      const e = err as Error;
      return {
        statusCode: 200,
        headers: { 'content-type': 'application/json', 'x-amz-function-error': 'Unhandled' },
        body: JSON.stringify({ errorType: e?.name ?? 'Error', errorMessage: String(e?.message ?? err).split('\n')[0] }),
      };
    }
  };
}

/** The parts of the local stack (lambdas/local/stack.ts `LocalStack`) that sending plugs into. */
export interface LocalStackLike {
  info: { dynamoEndpoint: string; sesEndpoint: string; tableName: string };
  deps: { publicBaseUrl: string; sender: string; tokenKeys: () => Promise<TokenKeys> };
  addRoute(prefix: string, handler: (event: APIGatewayProxyEventV2) => Promise<APIGatewayProxyResultV2>): void;
}

/**
 * One call for the local stack (`npm start`, tests): attach the sending pipeline with the stack's endpoints,
 * sender and token keys, and serve the send Lambda's Invoke API on the stack's HTTP server.
 * `postalAddress` defaults to POSTAL_ADDRESS or a placeholder address.
 */
export function attachSendingToStack(
  stack: LocalStackLike,
  options: Partial<SendingOptions> = {},
): AttachedSending {
  const sending = attachSending(
    { ...stack.info, publicBaseUrl: stack.deps.publicBaseUrl },
    {
      sender: stack.deps.sender,
      tokenKeys: stack.deps.tokenKeys,
      postalAddress: options.postalAddress ?? process.env.POSTAL_ADDRESS ?? LOCAL_POSTAL_ADDRESS,
      ...options,
    },
  );
  stack.addRoute(INVOKE_PATH, createInvokeRoute(sending));
  return sending;
}
