/**
 * Turns a stored issue into one recipient's email: the cheap per-recipient pass (placeholders filled, never MJML),
 * RFC 8058 one-click unsubscribe headers, and SES tags that carry no personal data.
 */
import { createHash } from 'node:crypto';
import type { OutboundEmail, RecipientData } from '../model.ts';
import type { StoredIssue } from '../ports.ts';

/** One recipient in a queue message. */
export interface Recipient {
  email: string;
  name?: string;
  /** Custom import attributes (`{{attributes.tier}}`), string to string; omitted when empty. */
  attributes?: Readonly<Record<string, string>>;
}

/** The body of one queue message: up to 50 recipients of one campaign. */
export interface RecipientBatch {
  campaignId: string;
  recipients: Recipient[];
}

/** Most recipients per queue message (SQS message ≤ 256 KB; 50 addresses stay far below it). */
export const RECIPIENTS_PER_MESSAGE = 50;

export type Personalize = (data: RecipientData) => { html: string; text: string; subject: string };
/** The renderer's compilePersonalizer: compile once per issue, then fill per recipient. */
export type CompilePersonalizer = (template: { html: string; text: string; subject: string }) => Personalize;

export interface ComposeSettings {
  sender: string;
  /** Public base URL without a trailing slash. */
  publicBaseUrl: string;
  configurationSet?: string;
  /** Signs an `unsubscribe` token for this address. */
  unsubscribeToken(email: string): string | Promise<string>;
}

/** SES tag values allow only [A-Za-z0-9_-], up to 256 characters. */
export function tagValue(value: string): string {
  return value.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 256) || '_';
}

/** The subscriber tag: a hash, so SES event streams never carry the address in a tag. */
export function subscriberTag(email: string): string {
  return createHash('sha256').update(email.toLowerCase()).digest('hex').slice(0, 32);
}

export function unsubscribeUrl(publicBaseUrl: string, token: string): string {
  return `${publicBaseUrl}/unsubscribe?token=${encodeURIComponent(token)}`;
}

export function archiveUrl(publicBaseUrl: string, slug: string): string {
  return `${archiveIndexUrl(publicBaseUrl)}/${encodeURIComponent(slug)}`;
}

/** The archive's list of sent issues. */
export function archiveIndexUrl(publicBaseUrl: string): string {
  return `${publicBaseUrl}/archive`;
}

/**
 * Build one recipient's email from a compiled personalizer. `subjectPrefix` is used by test sends ("[TEST] "), and
 * `viewInBrowserUrl` replaces the issue's archive page for them while that page is not public yet.
 */
export async function composeEmail(
  settings: ComposeSettings,
  issue: Pick<StoredIssue, 'slug'>,
  personalize: Personalize,
  recipient: Recipient,
  campaignId: string,
  subjectPrefix = '',
  viewInBrowserUrl = archiveUrl(settings.publicBaseUrl, issue.slug),
): Promise<OutboundEmail> {
  const url = unsubscribeUrl(settings.publicBaseUrl, await settings.unsubscribeToken(recipient.email));
  const filled = personalize({
    unsubscribeUrl: url,
    viewInBrowserUrl,
    email: recipient.email,
    ...(recipient.name ? { name: recipient.name } : {}),
    ...(recipient.attributes ? { attributes: recipient.attributes } : {}),
  });
  return {
    from: settings.sender,
    // Bare address: a display name from subscriber data would be one more header to escape.
    to: recipient.email,
    subject: subjectPrefix + filled.subject,
    html: filled.html,
    text: filled.text,
    headers: {
      'List-Unsubscribe': `<${url}>`,
      'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click',
    },
    tags: { campaign: tagValue(campaignId), subscriber: subscriberTag(recipient.email) },
    ...(settings.configurationSet ? { configurationSet: settings.configurationSet } : {}),
  };
}

/** Parse and validate a queue message body; `undefined` for anything malformed (a poison message). */
export function parseRecipientBatch(body: string): RecipientBatch | undefined {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    return undefined;
  }
  if (!value || typeof value !== 'object') return undefined;
  const { campaignId, recipients } = value as { campaignId?: unknown; recipients?: unknown };
  if (typeof campaignId !== 'string' || !campaignId || !Array.isArray(recipients)) return undefined;
  const out: Recipient[] = [];
  for (const r of recipients) {
    if (!r || typeof r !== 'object' || typeof (r as Recipient).email !== 'string') return undefined;
    const { email, name } = r as Recipient;
    const attributes = parseAttributes((r as { attributes?: unknown }).attributes);
    out.push({ email, ...(typeof name === 'string' && name ? { name } : {}), ...(attributes ? { attributes } : {}) });
  }
  return { campaignId, recipients: out };
}

/**
 * A recipient's `attributes`: an object of string values. Anything else (an array, a non-string value) is not
 * worth dropping the whole message for: non-string entries are left out, and an empty result is omitted.
 */
function parseAttributes(value: unknown): Record<string, string> | undefined {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return undefined;
  // fromEntries defines own properties, so a `__proto__` key stays plain data.
  const entries = Object.entries(value).filter((e): e is [string, string] => typeof e[1] === 'string');
  return entries.length > 0 ? Object.fromEntries(entries) : undefined;
}
