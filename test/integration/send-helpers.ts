/**
 * Shared setup for the sending integration tests: real emulators (dynalite + aws-ses-v2-local, port 0), the real
 * SDK clients through attachSending, and helpers to seed an audience and read the SES store.
 */
import { DeleteTableCommand } from '@aws-sdk/client-dynamodb';
import { SESv2Client } from '@aws-sdk/client-sesv2';
import { SES_SEND_CLIENT_OPTIONS, SesMailer } from '../../lambdas/adapters/ses/ses-mailer.ts';
import { LOCAL_CREDENTIALS, LOCAL_REGION, ensureTable, localDynamoClient, startEmulators, type Emulators } from '../../lambdas/local/emulators.ts';
import { attachSending, type AttachedSending, type SendingOptions } from '../../lambdas/local/sending.ts';
import type { CampaignAccounting, OutboundEmail, SubscriberStatus } from '../../lambdas/core/model.ts';
import type { Mailer, TokenKeys } from '../../lambdas/core/ports.ts';

export const TOKEN_KEYS: TokenKeys = { current: 'k1', keys: { k1: 'integration-test-secret-0123456789' } };
export const PUBLIC_BASE_URL = 'http://127.0.0.1:3999';

export interface StoredEmail {
  messageId: string;
  from: string;
  destination: { to: string[] };
  subject: string;
  body: { html?: string; text?: string };
  headers?: Array<{ name: string; value: string }>;
}

export interface SendEnv {
  emulators: Emulators;
  sending: AttachedSending;
  stop(): Promise<void>;
}

export async function startSendEnv(): Promise<Omit<SendEnv, 'sending'>> {
  const emulators = await startEmulators({ dynamoPort: 0, sesPort: 0, maxSendRate: 1000 });
  return {
    emulators,
    async stop() {
      await emulators.stop();
    },
  };
}

/** Fresh table and empty SES store (between tests). */
export async function resetEmulators(emulators: Emulators): Promise<void> {
  const client = localDynamoClient(emulators.dynamoEndpoint);
  await client.send(new DeleteTableCommand({ TableName: emulators.tableName }));
  await ensureTable(client, emulators.tableName);
  client.destroy();
  await fetch(`${emulators.sesEndpoint}/clear-store`, { method: 'POST' });
}

export function attach(env: Omit<SendEnv, 'sending' | 'stop'>, options: Partial<SendingOptions> = {}): AttachedSending {
  return attachSending(
    {
      dynamoEndpoint: env.emulators.dynamoEndpoint,
      sesEndpoint: env.emulators.sesEndpoint,
      tableName: env.emulators.tableName,
      publicBaseUrl: PUBLIC_BASE_URL,
    },
    {
      sender: 'Test News <news@example.com>',
      postalAddress: '1 Test Street, Testville',
      tokenKeys: TOKEN_KEYS,
      maxSendRate: 1000,
      queue: { visibilityTimeoutMs: 30, maxReceiveCount: 10, concurrency: 2 },
      backoffMs: 2,
      ...options,
    },
  );
}

/** Seed subscribers with the given statuses through the real repository. */
export async function seed(sending: AttachedSending, people: Array<{ email: string; status: SubscriberStatus; name?: string }>): Promise<void> {
  const now = new Date();
  const consent = { at: now.toISOString(), method: 'import' as const, source: 'test' };
  for (const p of people) {
    const base = { email: p.email, consent, now, ...(p.name ? { name: p.name } : {}) };
    if (p.status === 'pending') {
      await sending.subscribers.importSubscriber({ ...base, status: 'pending' });
      continue;
    }
    await sending.subscribers.importSubscriber({ ...base, status: 'confirmed' });
    if (p.status === 'unsubscribed') await sending.subscribers.unsubscribe(p.email, now);
    if (p.status === 'bounced' || p.status === 'complained') await sending.subscribers.suppress(p.email, p.status, now);
  }
}

export function audienceOf(n: number, domain: string, status: SubscriberStatus = 'confirmed') {
  return Array.from({ length: n }, (_, i) => ({ email: `r${String(i).padStart(3, '0')}@${domain}`, status }));
}

export async function storedEmails(sesEndpoint: string): Promise<StoredEmail[]> {
  const res = await fetch(`${sesEndpoint}/store`);
  const body = (await res.json()) as { emails: StoredEmail[] };
  return body.emails;
}

/** Emails per recipient whose subject contains `subjectPart`. */
export function countByRecipient(emails: StoredEmail[], subjectPart: string): Map<string, number> {
  const m = new Map<string, number>();
  for (const e of emails) {
    if (!e.subject.includes(subjectPart)) continue;
    for (const to of e.destination.to) m.set(to, (m.get(to) ?? 0) + 1);
  }
  return m;
}

export function issueMarkdown(slug: string, title = `Weekly ${slug}`): string {
  return `---\nslug: ${slug}\ntitle: ${title}\n---\n# ${title}\n\n## News\n\n* [A useful link](https://example.com/${slug}) about things.\n`;
}

export function invariantHolds(a: CampaignAccounting): boolean {
  return a.sent + a.skipped + a.failed + a.unknown + a.queued === a.audience;
}

/** A Mailer that forwards to the real one (so emails land in the emulator) and injects faults first. */
export class FaultInjectingMailer implements Mailer {
  calls = 0;
  constructor(
    private readonly real: Mailer,
    /** Return an error to throw instead of sending; 'after' to send and then throw an in-doubt error. */
    private readonly fault: (email: OutboundEmail, call: number) => Error | 'after' | undefined,
  ) {}

  async send(email: OutboundEmail) {
    const call = ++this.calls;
    const f = this.fault(email, call);
    if (f instanceof Error) throw f;
    const result = await this.real.send(email);
    if (f === 'after') throw Object.assign(new Error('socket hang up'), { name: 'Error', code: 'ECONNRESET' });
    return result;
  }

  getSendQuota() {
    return this.real.getSendQuota();
  }
}

export function sesError(name: string, status: number, message = name): Error {
  return Object.assign(new Error(message), { name, $metadata: { httpStatusCode: status } });
}

/** Wait until the queue is drained and return the accounting. */
export async function settle(sending: AttachedSending, campaignId: string): Promise<CampaignAccounting> {
  await sending.drain();
  const a = await sending.campaigns.accounting(campaignId);
  if (!a) throw new Error(`no campaign ${campaignId}`);
  return a;
}

export function realMailer(emulators: Emulators): Mailer {
  return new SesMailer(new SESv2Client({ endpoint: emulators.sesEndpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS }));
}

/** A port on 127.0.0.1 with nothing listening: connecting to it is refused (a real ECONNREFUSED). */
export async function closedPort(): Promise<number> {
  const { createServer } = await import('node:net');
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** A real SES v2 client (the worker's options: one attempt, bounded timeouts) on the given endpoint. */
export function sesMailerAt(endpoint: string): SesMailer {
  return new SesMailer(new SESv2Client({ ...SES_SEND_CLIENT_OPTIONS, endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS }));
}

/**
 * A Mailer that notes each SendEmail it starts and finishes (and sends through `target()`, which a test may switch
 * between real clients). `inFlight()` is every recipient whose call started and never returned an answer.
 */
export class RecordingMailer implements Mailer {
  readonly started: string[] = [];
  readonly answered: string[] = [];
  readonly errors: Array<{ to: string; code?: string; name: string }> = [];
  constructor(readonly target: () => Mailer) {}

  async send(email: OutboundEmail) {
    this.started.push(email.to);
    try {
      const r = await this.target().send(email);
      this.answered.push(email.to);
      return r;
    } catch (err) {
      const e = err as { code?: string; name: string; $metadata?: { httpStatusCode?: number } };
      // An answer from SES, or a connection that never opened, is not in flight.
      this.errors.push({ to: email.to, name: e.name, ...(e.code ? { code: e.code } : {}) });
      throw err;
    }
  }

  getSendQuota() {
    return this.target().getSendQuota();
  }
}

/**
 * The checks every worker fault test ends with: the accounting adds up with nothing queued, every confirmed
 * recipient got exactly one email except UNKNOWN ones (at most one), and every UNKNOWN pair is a recipient whose
 * SendEmail was started and never answered (in flight when the fault hit).
 */
export async function expectEveryoneOnceUnknownOnlyInFlight(
  sending: AttachedSending,
  sesEndpoint: string,
  slug: string,
  emails: string[],
  inFlight: ReadonlySet<string>,
): Promise<{ accounting: CampaignAccounting; unknown: string[] }> {
  const a = (await sending.campaigns.accounting(slug))!;
  const counts = countByRecipient(await storedEmails(sesEndpoint), slug);
  const unknown: string[] = [];
  for (const email of emails) {
    const status = await sending.campaigns.deliveryStatus(slug, email);
    if (status === 'UNKNOWN') unknown.push(email);
    else if (status !== 'SENT' || counts.get(email) !== 1) throw new Error(`${email}: pair ${status}, ${counts.get(email) ?? 0} email(s)`);
  }
  for (const email of unknown) {
    if (!inFlight.has(email)) throw new Error(`${email} is UNKNOWN but its SendEmail was never in flight`);
    if ((counts.get(email) ?? 0) > 1) throw new Error(`${email} got ${counts.get(email)} emails`);
  }
  const extra = [...counts.keys()].filter((e) => !emails.includes(e));
  if (extra.length > 0) throw new Error(`emails outside the audience: ${extra.join(', ')}`);
  if (!invariantHolds(a) || a.queued !== 0 || a.unknown !== unknown.length || a.sent !== emails.length - unknown.length) {
    throw new Error(`accounting does not add up: ${JSON.stringify(a)}`);
  }
  return { accounting: a, unknown };
}
