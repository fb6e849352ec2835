/**
 * Mailer on SES v2 (SendEmail with Simple content). Simple content keeps custom headers (List-Unsubscribe,
 * List-Unsubscribe-Post) and lets SES build the MIME message. SDK errors propagate unchanged, so callers can
 * classify them by `name` (ThrottlingException, TooManyRequestsException, SendingPausedException, …) and, for
 * transport faults, by Node's error `code` (core/sending/errors.ts).
 */
import { GetAccountCommand, SendEmailCommand, type SESv2Client, type SESv2ClientConfig } from '@aws-sdk/client-sesv2';
import type { OutboundEmail } from '../../core/model.ts';
import type { Mailer } from '../../core/ports.ts';

/** How long one SendEmail may take before it is abandoned (in doubt): well under the worker's deadline margin. */
export const SES_REQUEST_TIMEOUT_MS = 10_000;
/** How long connecting (TCP + TLS) may take; a connect timeout proves the request was never sent. */
export const SES_CONNECT_TIMEOUT_MS = 3_000;

/**
 * Options for an SES client that sends campaign email (the worker, on AWS and locally):
 * - `maxAttempts: 1`: the SDK must not retry a SendEmail by itself. Its retries cover resets and timeouts after the
 *   request was written, which could send a second email, and they would hide which attempt failed how. The
 *   worker retries itself, only what SES certainly did not take (errors.ts).
 * - a request timeout that throws (the SDK only warns by default), so a hung call ends within the deadline margin.
 */
export const SES_SEND_CLIENT_OPTIONS = {
  maxAttempts: 1,
  requestHandler: {
    connectionTimeout: SES_CONNECT_TIMEOUT_MS,
    requestTimeout: SES_REQUEST_TIMEOUT_MS,
    throwOnRequestTimeout: true,
  },
} satisfies SESv2ClientConfig;

export class SesMailer implements Mailer {
  constructor(private readonly client: SESv2Client) {}

  async send(email: OutboundEmail): Promise<{ messageId: string }> {
    const headers = Object.entries(email.headers ?? {}).map(([Name, Value]) => ({ Name, Value }));
    const tags = Object.entries(email.tags ?? {}).map(([Name, Value]) => ({ Name, Value }));
    const res = await this.client.send(
      new SendEmailCommand({
        FromEmailAddress: email.from,
        Destination: { ToAddresses: [email.to] },
        Content: {
          Simple: {
            Subject: { Data: email.subject, Charset: 'UTF-8' },
            Body: {
              Html: { Data: email.html, Charset: 'UTF-8' },
              Text: { Data: email.text, Charset: 'UTF-8' },
            },
            ...(headers.length > 0 ? { Headers: headers } : {}),
          },
        },
        ...(tags.length > 0 ? { EmailTags: tags } : {}),
        ...(email.configurationSet ? { ConfigurationSetName: email.configurationSet } : {}),
      }),
    );
    if (!res.MessageId) throw Object.assign(new Error('SES returned no MessageId'), { name: 'MissingMessageId' });
    return { messageId: res.MessageId };
  }

  async getSendQuota() {
    const res = await this.client.send(new GetAccountCommand({}));
    const q = res.SendQuota ?? {};
    return {
      maxSendRate: q.MaxSendRate ?? 1,
      max24HourSend: q.Max24HourSend ?? 200,
      sentLast24Hours: q.SentLast24Hours ?? 0,
    };
  }
}
