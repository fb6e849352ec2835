/**
 * Mailer on SES v2 (SendEmail with Simple content). Simple content keeps custom headers (List-Unsubscribe,
 * List-Unsubscribe-Post) and lets SES build the MIME message. SDK errors propagate unchanged, so callers can
 * classify them by `name` (ThrottlingException, TooManyRequestsException, SendingPausedException, …).
 */
import { GetAccountCommand, SendEmailCommand, type SESv2Client } from '@aws-sdk/client-sesv2';
import type { OutboundEmail } from '../../core/model.ts';
import type { Mailer } from '../../core/ports.ts';

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
