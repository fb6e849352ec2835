/** In-memory ports for the sending core tests: no AWS, no emulators, no mocks of modules. */
import { MemoryCampaignRepository } from '../../../lambdas/adapters/memory/memory-campaign-repository.ts';
import { MemoryQueue } from '../../../lambdas/adapters/memory/memory-queue.ts';
import { MemorySubscriberRepository } from '../../../lambdas/adapters/memory/memory-subscriber-repository.ts';
import type { OutboundEmail, SubscriberStatus } from '../../../lambdas/core/model.ts';
import type { IssueStore, Mailer, StoredIssue } from '../../../lambdas/core/ports.ts';
import { compilePersonalizer } from '../../../lambdas/core/issue/personalize.ts';
import type { Sleeper } from '../../../lambdas/core/sending/rate-limiter.ts';
import type { WorkerDeps } from '../../../lambdas/core/sending/worker.ts';
import type { SendDeps } from '../../../lambdas/core/sending/send-campaign.ts';

export const ISSUE: StoredIssue = {
  slug: 'issue-1',
  subject: 'Issue 1',
  preheader: 'pre',
  title: 'Issue 1',
  lang: 'en',
  html: '<p>Hi {{name}}</p><a href="{{viewInBrowserUrl}}">web</a><a href="{{unsubscribeUrl}}">unsubscribe</a>',
  text: 'Hi {{name}}\nUnsubscribe: {{unsubscribeUrl}}',
};

export class FakeMailer implements Mailer {
  readonly sent: OutboundEmail[] = [];
  fault: (email: OutboundEmail) => Error | undefined = () => undefined;
  async send(email: OutboundEmail) {
    const f = this.fault(email);
    if (f) throw f;
    this.sent.push(email);
    return { messageId: `m-${this.sent.length}` };
  }
  async getSendQuota() {
    return { maxSendRate: 1000, max24HourSend: 1e6, sentLast24Hours: 0 };
  }
}

export class FakeIssueStore implements IssueStore {
  readonly issues = new Map<string, StoredIssue>();
  gets = 0;
  async put(issue: StoredIssue) {
    this.issues.set(issue.slug, issue);
  }
  async get(slug: string) {
    this.gets++;
    return this.issues.get(slug);
  }
}

export const instant: Sleeper = { nowMs: () => 0, sleep: async () => undefined };

export function sesError(name: string, status: number, message = name): Error {
  return Object.assign(new Error(message), { name, $metadata: { httpStatusCode: status } });
}

export function world() {
  const now = new Date('2026-01-01T00:00:00Z');
  const subscribers = new MemorySubscriberRepository(() => now);
  const campaigns = new MemoryCampaignRepository();
  const mailer = new FakeMailer();
  const issues = new FakeIssueStore();
  const queue = new MemoryQueue();
  const clock = { now: () => now };
  const compose = {
    sender: 'News <news@example.com>',
    publicBaseUrl: 'https://news.example.com',
    configurationSet: 'newsletter',
    unsubscribeToken: (email: string) => `tok-${email}`,
  };
  const workerDeps: WorkerDeps = {
    ...compose, subscribers, campaigns, mailer, issues, clock, compilePersonalizer,
    pacer: { acquire: async () => undefined, throttled: () => undefined },
    time: instant, throttleRetries: 0,
  };
  const sendDeps: SendDeps = {
    ...compose, subscribers, campaigns, mailer, issues, queue, clock, compilePersonalizer,
    render: async (markdown) => ({ issue: { ...ISSUE, slug: markdown.trim() || ISSUE.slug }, warnings: [] }),
    sendRate: async () => 800,
    time: instant,
  };
  async function seed(people: Array<[string, SubscriberStatus]>) {
    const consent = { at: now.toISOString(), method: 'import' as const, source: 'test' };
    for (const [email, status] of people) {
      await subscribers.importSubscriber({ email, status: status === 'pending' ? 'pending' : 'confirmed', consent, now });
      if (status === 'unsubscribed') await subscribers.unsubscribe(email, now);
      if (status === 'bounced' || status === 'complained') await subscribers.suppress(email, status, now);
    }
  }
  return { now, subscribers, campaigns, mailer, issues, queue, clock, workerDeps, sendDeps, seed };
}

export function message(id: string, campaignId: string, emails: string[], receiveCount = 1) {
  return { messageId: id, body: JSON.stringify({ campaignId, recipients: emails.map((email) => ({ email })) }), receiveCount };
}
