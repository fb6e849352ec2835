/**
 * What sending costs on AWS on top of SES, per 1,000,000 emails (issue 8, part 5). Pure: no I/O, no clock.
 *
 * Two halves:
 * - {@link modelCalls}: the AWS requests one campaign makes, derived from how the code is written (pages, messages,
 *   batches, the worker's per-recipient claim). test/bench/cost-model.test.ts runs a small send on the emulators
 *   with counting middleware and checks that these counts equal the calls the code really makes, so this model
 *   cannot drift from the code silently.
 * - {@link costPerMillion}: those requests and the measured durations and capacity units, priced.
 *
 * Prices: us-east-1 list prices (checked November 2026), free tiers ignored.
 */
import { FUNCTION_MEMORY_MB } from '../infra/settings.ts';
import { RECIPIENTS_PER_MESSAGE } from '../lambdas/core/sending/compose.ts';

export const PRICES_USD = {
  /** Lambda on arm64 (the NewsletterFunction construct's architecture), per GB-second and per request. */
  lambdaGbSecond: 0.0000133334,
  lambdaRequest: 0.2 / 1e6,
  /** DynamoDB on-demand, after the November 2024 cut: per write and per read request unit. */
  ddbWriteUnit: 0.625 / 1e6,
  ddbReadUnit: 0.125 / 1e6,
  /** SQS standard queue, per request (each 64 KB chunk of a payload is one request). */
  sqsRequest: 0.4 / 1e6,
  /**
   * EventBridge, per SES event the configuration set publishes to the default bus. AWS service events on the
   * default bus are not billed; this model counts SES's email events among them. If AWS bills them as "opt-in data
   * events" instead, the price is EVENTBRIDGE_BILLED_EVENT_USD (bench/run.ts reports that total alongside).
   */
  eventBridgeSesEvent: 0,
  /** S3 Standard, per GET. */
  s3Get: 0.0004 / 1000,
  /** SES, per email: the baseline everything else is compared with. */
  sesEmail: 0.1 / 1000,
} as const;

/** EventBridge's price for a billed (custom or opt-in data) event: the pessimistic case of `eventBridgeSesEvent`. */
export const EVENTBRIDGE_BILLED_EVENT_USD = 1 / 1e6;

/** The send Lambda's GSI page size (send-campaign.ts `pageSize` default) and SendMessageBatch's entry limit. */
export const PAGE_SIZE = 500;
export const SQS_BATCH_ENTRIES = 10;
/** DynamoDB Query reads at most 1 MB per call. */
const QUERY_PAGE_BYTES = 1024 * 1024;

export interface CallModelInput {
  recipients: number;
  /** Subscribers per fan-out page (default {@link PAGE_SIZE}). */
  pageSize?: number;
  /** Queue messages per worker invocation (the SQS event source's batch size). */
  messagesPerInvocation: number;
  /** Recipients of one message the worker sends at once, and so reads statuses for at once (default 8). */
  workerLanes?: number;
  /** Worker containers that load the rendered issue (one strongly consistent GetItem each). */
  workerContainers?: number;
  /** The send function read the Markdown from the bucket (`{s3Key}` input; the CLI sends it inline). */
  markdownFromS3?: boolean;
  /** SES event types the configuration set publishes to the bus (infra/stateful-stack.ts SES_EVENT_TYPES); any case. */
  publishedEventTypes: readonly string[];
  /** Those the EventBridge rule routes to the events Lambda (infra/stateless-stack.ts ROUTED_SES_EVENT_TYPES). */
  routedEventTypes: readonly string[];
  /** Average bytes of one item of the confirmed-subscribers index, for the COUNT query's pages. */
  indexItemBytes?: number;
  /** Average bytes of one delivery pair, for the pages of the accounting read that closes the campaign. */
  pairItemBytes?: number;
}

/** The requests one campaign of `recipients` makes when every recipient is confirmed and every send succeeds. */
export interface CallModel {
  /** The send Lambda and the worker (not the events Lambda), by DynamoDB SDK command. */
  dynamo: { BatchGetItemCommand: number; GetItemCommand: number; QueryCommand: number; PutItemCommand: number; UpdateItemCommand: number };
  /** The events Lambda, by DynamoDB SDK command (plus the conditional writes among them that fail by design). */
  eventsDynamo: { GetItemCommand: number; PutItemCommand: number; UpdateItemCommand: number; conditionalFailures: number };
  queueMessages: number;
  sendMessageBatch: number;
  workerInvocations: number;
  sesSendEmail: number;
  /** GetObject of the issue Markdown (`{s3Key}` input only): rendered issues live in the table. */
  s3Get: number;
  /** SES events published to the default bus. */
  busEvents: number;
  /** Those the rule routes to the events Lambda, each one invocation. */
  sesEventInvocations: number;
}

/** Events each successfully sent email produces, per published event type (bounces and complaints are rare). */
const EVENTS_PER_EMAIL: Record<string, number> = { send: 1, delivery: 1 };

export function modelCalls(input: CallModelInput): CallModel {
  const n = input.recipients;
  const pageSize = input.pageSize ?? PAGE_SIZE;
  // A page that fills its Limit comes back with a LastEvaluatedKey, so there is always one more Query than full pages.
  const pages = Math.floor(n / pageSize) + 1;
  const pageSizes = Array.from({ length: pages }, (_, i) => Math.min(pageSize, n - i * pageSize));
  const messagesPerPage = pageSizes.map((s) => Math.ceil(s / RECIPIENTS_PER_MESSAGE));
  const lanes = input.workerLanes ?? 8;
  // Each message's recipients in groups of `lanes` (the last message of a page may be short): one status read each.
  const statusReads = pageSizes.reduce((sum, size) => {
    const full = Math.floor(size / RECIPIENTS_PER_MESSAGE);
    const rest = size % RECIPIENTS_PER_MESSAGE;
    return sum + full * Math.ceil(RECIPIENTS_PER_MESSAGE / lanes) + Math.ceil(rest / lanes);
  }, 0);
  const queueMessages = messagesPerPage.reduce((a, b) => a + b, 0);
  const sendMessageBatch = messagesPerPage.reduce((a, m) => a + Math.ceil(m / SQS_BATCH_ENTRIES), 0);
  const workerInvocations = Math.ceil(queueMessages / input.messagesPerInvocation);
  const countQueries = Math.max(1, Math.ceil((n * (input.indexItemBytes ?? 100)) / QUERY_PAGE_BYTES));
  const closingQueries = Math.max(1, Math.ceil((n * (input.pairItemBytes ?? 256)) / QUERY_PAGE_BYTES));
  const perEmail = (types: readonly string[]) => types.reduce((a, t) => a + (EVENTS_PER_EMAIL[t.toLowerCase()] ?? 0), 0);
  const routed = (t: string) => input.routedEventTypes.some((e) => e.toLowerCase() === t);
  const containers = input.workerContainers ?? 1;
  return {
    dynamo: {
      // worker: the statuses of each group of `lanes` recipients of a message, strongly consistent, read just
      // before the group is sent.
      BatchGetItemCommand: statusReads,
      // send: existing-campaign check + re-read after the fan-out; worker: the rendered issue once per container,
      // campaign status once per invocation.
      GetItemCommand: 2 + containers + workerInvocations,
      // send: audience COUNT, one page per fan-out page, the accounting read at the end (before any pair exists);
      // worker: the strongly consistent accounting read that closes the campaign once every pair is final.
      QueryCommand: countQueries + pages + 1 + closingQueries,
      // send: the rendered issue, the campaign record and its index item.
      PutItemCommand: 3,
      // send: DRAFT → SENDING, one cursor save per page; worker: claim and SENT per recipient, the campaign's
      // `handled` hint once per message, SENDING → SENT once.
      UpdateItemCommand: 1 + pages + 2 * n + queueMessages + 1,
    },
    eventsDynamo: {
      // A Send event reads the pair (eventually consistent) and finds it SENT: no write. Only a pair the worker
      // left SENDING or UNKNOWN (a crash, rare) costs an UpdateItem.
      GetItemCommand: routed('send') ? n : 0,
      // A Delivery event, if routed, records a delivered counter.
      PutItemCommand: routed('delivery') ? n : 0,
      UpdateItemCommand: 0,
      conditionalFailures: 0,
    },
    queueMessages,
    sendMessageBatch,
    workerInvocations,
    sesSendEmail: n,
    s3Get: input.markdownFromS3 ? 1 : 0,
    busEvents: perEmail(input.publishedEventTypes) * n,
    sesEventInvocations: perEmail(input.routedEventTypes) * n,
  };
}

export interface CostInput {
  /** Calls of one campaign ({@link modelCalls}) and its size. */
  calls: CallModel;
  recipients: number;
  /** DynamoDB capacity units per email, send Lambda + worker, as measured (ConsumedCapacity). */
  ddbReadUnitsPerEmail: number;
  ddbWriteUnitsPerEmail: number;
  /** DynamoDB capacity units per events-Lambda invocation, as measured. */
  eventReadUnits: number;
  eventWriteUnits: number;
  /** Measured: the send Lambda's fan-out per recipient, ms. */
  sendMsPerEmail: number;
  /** Measured: worker busy time per email (sum of invocation durations / emails), ms. */
  workerMsPerEmail: number;
  /**
   * Worker wall time per email imposed by pacing: each of `maxConcurrency` workers sends at rate/maxConcurrency,
   * and Lambda bills the waiting too (infra/settings.ts workerSizing), ms. Billed time is the larger of the two.
   */
  workerPacedMsPerEmail: number;
  /** Measured: one events-Lambda invocation, ms. */
  eventMsPerInvocation: number;
  /** Bytes of one SQS message (≤ 50 recipients) and of one SES event on the bus. */
  queueMessageBytes: number;
  sesEventBytes?: number;
  memoryMb?: { send: number; worker: number; sesEvents: number };
  /** Price of one SES event on the bus (default PRICES_USD.eventBridgeSesEvent). */
  busEventUsd?: number;
}

export interface CostLine {
  item: string;
  usdPerMillion: number;
  /** How the figure is made, for the README table. */
  basis: string;
}

const chunks = (bytes: number) => Math.max(1, Math.ceil(bytes / (64 * 1024)));

/** Dollars per 1,000,000 emails on top of SES, line by line; `total` sums the lines. */
export function costPerMillion(input: CostInput): { lines: CostLine[]; total: number; sesUsdPerMillion: number } {
  const mem = input.memoryMb ?? FUNCTION_MEMORY_MB;
  const perEmail = (n: number) => n / input.recipients;
  const million = 1e6;
  const c = input.calls;
  const workerMs = Math.max(input.workerMsPerEmail, input.workerPacedMsPerEmail);
  const eventsPerEmail = perEmail(c.sesEventInvocations);
  const busEventUsd = input.busEventUsd ?? PRICES_USD.eventBridgeSesEvent;
  const gbS = (mb: number, ms: number) => (mb / 1024) * (ms / 1000);
  const batchBytes = SQS_BATCH_ENTRIES * input.queueMessageBytes;
  // Per message: its share of one SendMessageBatch (in 64 KB chunks), one ReceiveMessage and one DeleteMessageBatch
  // per worker invocation (the event source's empty long polls are a fixed cost per hour, not per email).
  const sqsRequests = c.sendMessageBatch * chunks(batchBytes) + 2 * c.workerInvocations;
  const lines: CostLine[] = [
    {
      item: 'Lambda: worker',
      usdPerMillion:
        million * (gbS(mem.worker, workerMs) * PRICES_USD.lambdaGbSecond + perEmail(c.workerInvocations) * PRICES_USD.lambdaRequest),
      basis: `${mem.worker} MB × max(measured ${input.workerMsPerEmail.toFixed(2)} ms, paced ${input.workerPacedMsPerEmail.toFixed(1)} ms) per email + ${perEmail(c.workerInvocations).toFixed(4)} invocations`,
    },
    {
      item: 'Lambda: send (fan-out)',
      usdPerMillion: million * (gbS(mem.send, input.sendMsPerEmail) * PRICES_USD.lambdaGbSecond),
      basis: `${mem.send} MB × measured ${input.sendMsPerEmail.toFixed(3)} ms per email`,
    },
    {
      item: 'Lambda: SES events',
      usdPerMillion:
        million * eventsPerEmail * (gbS(mem.sesEvents, Math.max(1, Math.ceil(input.eventMsPerInvocation))) * PRICES_USD.lambdaGbSecond + PRICES_USD.lambdaRequest),
      basis: `${eventsPerEmail} invocations per email × ${mem.sesEvents} MB × measured ${input.eventMsPerInvocation.toFixed(2)} ms (billed by the ms, rounded up)`,
    },
    {
      item: 'DynamoDB: writes',
      usdPerMillion: million * (input.ddbWriteUnitsPerEmail + eventsPerEmail * input.eventWriteUnits) * PRICES_USD.ddbWriteUnit,
      basis: `${input.ddbWriteUnitsPerEmail.toFixed(3)} WRU (claim, SENT, per-page cursor) + ${(eventsPerEmail * input.eventWriteUnits).toFixed(3)} WRU (events) per email, measured`,
    },
    {
      item: 'DynamoDB: reads',
      usdPerMillion: million * (input.ddbReadUnitsPerEmail + eventsPerEmail * input.eventReadUnits) * PRICES_USD.ddbReadUnit,
      basis: `${input.ddbReadUnitsPerEmail.toFixed(3)} RRU (subscriber statuses, one BatchGetItem per 8, strongly consistent) + ${(eventsPerEmail * input.eventReadUnits).toFixed(3)} RRU (Send event's pair read, eventually consistent) per email, measured`,
    },
    {
      item: 'SQS',
      usdPerMillion: million * perEmail(sqsRequests) * PRICES_USD.sqsRequest,
      basis: `${perEmail(sqsRequests).toFixed(4)} requests per email (send batches, receives, deletes)`,
    },
    {
      item: 'EventBridge (SES events on the default bus)',
      usdPerMillion: million * perEmail(c.busEvents) * chunks(input.sesEventBytes ?? 2048) * busEventUsd,
      basis: `${perEmail(c.busEvents)} events per email (Send, Delivery) at $${(busEventUsd * 1e6).toFixed(2)} per million (AWS service events)`,
    },
    {
      item: 'S3',
      usdPerMillion: million * perEmail(c.s3Get) * PRICES_USD.s3Get,
      basis: `${c.s3Get} GET per issue: only an issue sent by {s3Key} is read from the bucket; rendered issues are in DynamoDB`,
    },
  ];
  const total = lines.reduce((a, l) => a + l.usdPerMillion, 0);
  return { lines, total, sesUsdPerMillion: million * PRICES_USD.sesEmail };
}
