/**
 * Double opt-in rules: subscribe, confirm and unsubscribe, as pure logic over the ports.
 * Outcomes are values (the handler maps them to pages); faults (DynamoDB, SES) are thrown unchanged.
 */
import type { Clock, Mailer, SubscriberRepository, TokenKeys } from '../ports.ts';
import { signToken, verifyToken, type TokenCheck, type TokenPurpose } from '../tokens/tokens.ts';
import type { SubscribeRequest } from './subscribe-form.ts';
import { composeWelcomeEmail, type WelcomeEmailLoader } from './welcome.ts';

/** Pending records live 7 days (DynamoDB TTL), as long as their confirm link. */
export const PENDING_TTL_SECONDS = 7 * 24 * 60 * 60;
/** At most one confirmation email per address per 10 minutes. */
export const CONFIRMATION_RESEND_SECONDS = 10 * 60;

/** Renders the confirmation email; implemented outside the core (MJML + Handlebars). */
export type ConfirmationEmailRenderer = (input: {
  email: string;
  name?: string;
  confirmUrl: string;
}) => Promise<{ subject: string; html: string; text: string }>;

export interface SubscriberServiceDeps {
  repo: SubscriberRepository;
  mailer: Mailer;
  /** Loaded lazily (Secrets Manager on AWS), at most once per container by the loader. */
  tokenKeys: () => Promise<TokenKeys>;
  clock: Clock;
  renderConfirmation: ConfirmationEmailRenderer;
  /** From address of the confirmation email. */
  sender: string;
  /** Public base URL of the HTTP API, without trailing slash. */
  publicBaseUrl: string;
  configurationSet?: string;
  /** The welcome email sent on confirmation (undefined, or a loader giving undefined: none is sent). */
  welcome?: WelcomeEmailLoader;
  /** Where a welcome email that could not be sent is reported (it never fails the confirmation). */
  logError?: (message: string, err: unknown) => void;
}

/** What sending a confirmation email needs (the form's and the import's). */
export type ConfirmationEmailDeps = Pick<
  SubscriberServiceDeps,
  'mailer' | 'tokenKeys' | 'renderConfirmation' | 'sender' | 'publicBaseUrl' | 'configurationSet'
>;

/** The confirmation email: a confirm link signed at `now` (valid 7 days), rendered and sent. Faults are thrown. */
export async function sendConfirmationEmail(deps: ConfirmationEmailDeps, to: { email: string; name?: string }, now: Date): Promise<void> {
  const token = signToken({ purpose: 'confirm', email: to.email }, await deps.tokenKeys(), now);
  const confirmUrl = `${deps.publicBaseUrl}/confirm?token=${encodeURIComponent(token)}`;
  const content = await deps.renderConfirmation({ email: to.email, ...(to.name ? { name: to.name } : {}), confirmUrl });
  await deps.mailer.send({
    from: deps.sender,
    to: to.email,
    ...content,
    tags: { type: 'confirmation' },
    ...(deps.configurationSet ? { configurationSet: deps.configurationSet } : {}),
  });
}

export type SubscribeOutcome = { kind: 'accepted'; stored: 'created' | 'refreshed' | 'ignored' | 'honeypot'; emailSent: boolean };
export type TokenFailure = Extract<TokenCheck, { ok: false }>['reason'];
export type ConfirmOutcome =
  /** `welcomeSent` (only when true): this request confirmed the subscriber and sent the welcome email. */
  | { kind: 'confirmed'; email: string; welcomeSent?: true }
  | { kind: 'invalid-token'; reason: TokenFailure }
  /** The pending record expired, was erased, or the address left meanwhile. */
  | { kind: 'not-pending'; email: string };
export type UnsubscribeOutcome = { kind: 'unsubscribed'; email: string } | { kind: 'invalid-token'; reason: TokenFailure };

export function createSubscriberService(deps: SubscriberServiceDeps) {
  const { repo, mailer, clock } = deps;

  async function check(token: unknown, purpose: TokenPurpose) {
    return verifyToken(token, purpose, await deps.tokenKeys(), clock.now());
  }

  /** The welcome email, best effort: the subscriber is confirmed either way, so a failure is logged, not thrown. */
  async function sendWelcome(email: string, name: string | undefined): Promise<boolean> {
    if (!deps.welcome) return false;
    try {
      const template = await deps.welcome();
      if (!template) return false;
      const unsubscribeToken = signToken({ purpose: 'unsubscribe', email }, await deps.tokenKeys(), clock.now());
      await mailer.send(
        composeWelcomeEmail(template, {
          email,
          ...(name ? { name } : {}),
          unsubscribeToken,
          sender: deps.sender,
          publicBaseUrl: deps.publicBaseUrl,
          ...(deps.configurationSet ? { configurationSet: deps.configurationSet } : {}),
        }),
      );
      return true;
    } catch (err) {
      (deps.logError ?? ((message, e) => console.error(message, e)))('welcome email not sent', err);
      return false;
    }
  }

  return {
    /**
     * Create or refresh a pending subscriber and send the confirmation email when the 10-minute window allows.
     * The outcome deliberately looks the same to the caller for every prior status (the handler answers
     * identically); `stored` and `emailSent` exist for tests and logs.
     */
    async subscribe(request: SubscribeRequest): Promise<SubscribeOutcome> {
      if (request.isBot) return { kind: 'accepted', stored: 'honeypot', emailSent: false };
      const now = clock.now();
      const { outcome, mayResend } = await repo.upsertPending({
        email: request.email,
        ...(request.name ? { name: request.name } : {}),
        source: request.source,
        now,
        ttlSeconds: PENDING_TTL_SECONDS,
        resendAfterSeconds: CONFIRMATION_RESEND_SECONDS,
      });
      if (!mayResend) return { kind: 'accepted', stored: outcome, emailSent: false };
      try {
        await sendConfirmationEmail(deps, request, now);
      } catch (err) {
        // The reader sees an error and will retry (keys, template or SES failed): the slot taken above must not
        // lock them out for 10 minutes.
        await repo.releaseConfirmation(request.email, now).catch(() => undefined);
        throw err;
      }
      return { kind: 'accepted', stored: outcome, emailSent: true };
    },

    /** Check a token without changing anything (the GET pages). */
    inspect: check,

    /**
     * pending → confirmed. Confirming twice is fine; a link for an address that left does not re-subscribe it.
     * Only the request whose conditional write confirmed the subscriber sends the welcome email, so a repeated
     * click (or a mail scanner racing the reader) never sends a second one.
     */
    async confirm(token: unknown): Promise<ConfirmOutcome> {
      const result = await check(token, 'confirm');
      if (!result.ok) return { kind: 'invalid-token', reason: result.reason };
      const email = result.claims.email;
      const write = await repo.confirm(email, clock.now());
      if (write.kind === 'changed') {
        const welcomed = await sendWelcome(write.subscriber.email, write.subscriber.name);
        return { kind: 'confirmed', email, ...(welcomed ? { welcomeSent: true } : {}) };
      }
      if (write.kind === 'unchanged' && write.subscriber?.status === 'confirmed') return { kind: 'confirmed', email };
      return { kind: 'not-pending', email };
    },

    /** → unsubscribed. Idempotent, and an unknown or erased address is also "unsubscribed". */
    async unsubscribe(token: unknown): Promise<UnsubscribeOutcome> {
      const result = await check(token, 'unsubscribe');
      if (!result.ok) return { kind: 'invalid-token', reason: result.reason };
      await repo.unsubscribe(result.claims.email, clock.now());
      return { kind: 'unsubscribed', email: result.claims.email };
    },
  };
}

export type SubscriberService = ReturnType<typeof createSubscriberService>;
