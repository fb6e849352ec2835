/**
 * The web archive over HTTP on the local stack: real emulators (dynalite, aws-ses-v2-local), the real send
 * pipeline, the real handler behind the API Gateway v2 adapter. Two issues are sent to subscribers whose names
 * and addresses must never appear in the archive.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DynamoDbCampaignRepository } from '../../lambdas/adapters/dynamodb/dynamodb-campaign-repository.ts';
import { DynamoDbIssueStore } from '../../lambdas/adapters/dynamodb/dynamodb-issue-store.ts';
import type { StoredIssue } from '../../lambdas/core/ports.ts';
import { createArchiveHandler } from '../../lambdas/handlers/archive.ts';
import { localDynamoClient } from '../../lambdas/local/emulators.ts';
import { readAccounting } from '../../lambdas/core/sending/status.ts';
import { attachSendingToStack, type AttachedSending } from '../../lambdas/local/sending.ts';
import { startLocalStack, type LocalStack } from '../../lambdas/local/stack.ts';
import { httpEvent, tokenFromEmail, type StoredEmail } from '../support/emulators.ts';
import { child, children, parseXml } from './xml.ts';

const PEOPLE = [
  { email: 'zoe.oneil@example.com', name: `Zoë <b>O'Neil</b> & "Co"` },
  { email: 'chen.jing@example.org', name: '陈静', attributes: { tier: 'gold <&>' } },
  { email: 'plain.reader@example.net', name: 'Plain Reader' },
];

const ISSUES = [
  { slug: 'tips-and-tricks-7', markdown: `---\nslug: tips-and-tricks-7\n---\n# Tips & Tricks 7: "a<b" for models\n\nThe lead paragraph.\n\n## News\n\n* [A useful link](https://example.com/one) about things.\n` },
  {
    slug: 'weekly-8',
    markdown: `---\nslug: weekly-8\npreheader: 'Hello {{name default="you"}}, another week.'\n---\n# Weekly 8\n\nHi {{name default="reader"}}, another lead.\n\nYour plan: {{attributes.tier default="standard"}}.\n\n## News\n\n* [Another link](https://example.com/two) about more things.\n`,
  },
];

let stack: LocalStack;
let sending: AttachedSending;
let dataDir: string;
let emails: StoredEmail[];
const stored = new Map<string, StoredIssue>();

async function get(path: string, init: RequestInit = {}) {
  const res = await fetch(`${stack.urls.baseUrl}${path}`, init);
  return { status: res.status, type: res.headers.get('content-type') ?? '', headers: res.headers, body: await res.text() };
}

/** Everything personal the archive must never show: addresses, names (raw and HTML-escaped), unsubscribe tokens. */
function personalData(): string[] {
  const escape = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
  const tokens = emails.map((e) => tokenFromEmail(e.body.html ?? '', '/unsubscribe'));
  return [...PEOPLE.flatMap((p) => [p.email, p.email.split('@')[0]!, p.name, escape(p.name)]), ...tokens, ...tokens.map(encodeURIComponent), 'token='];
}

function expectNoPersonalData(body: string) {
  for (const secret of personalData()) expect(body, `leaks ${secret}`).not.toContain(secret);
}

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'archive-http-'));
  stack = await startLocalStack({ port: 0, sesPort: 0, dynamoPort: 0, dataDir, persist: false, writeStackFile: false });
  sending = attachSendingToStack(stack, { maxSendRate: 1000 });
  const now = new Date();
  for (const p of PEOPLE) {
    await stack.deps.subscribers.importSubscriber({ ...p, status: 'confirmed', consent: { at: now.toISOString(), method: 'import', source: 'test' }, now });
  }
  for (const issue of ISSUES) {
    const result = await sending.invokeSend({ issue: { markdown: issue.markdown }, mode: 'send' });
    expect(result.status).toBe('complete');
    await sending.drain();
    expect((await readAccounting(sending.campaigns, issue.slug)).sent).toBe(PEOPLE.length);
    stored.set(issue.slug, (await sending.issues.get(issue.slug))!);
  }
  emails = ((await (await fetch(`${stack.urls.sesEndpoint}/store`)).json()) as { emails: StoredEmail[] }).emails;
  expect(emails).toHaveLength(PEOPLE.length * ISSUES.length);
});

afterAll(async () => {
  await sending?.stop();
  await stack?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('GET /archive', () => {
  it('lists the sent issues, newest first, escaped, in the pages layout, with no subscriber data', async () => {
    // Act
    const res = await get('/archive');
    // Assess
    expect(res.status).toBe(200);
    expect(res.type).toMatch(/^text\/html/);
    expect(res.headers.get('cache-control')).toBe('no-cache');
    const links = [...res.body.matchAll(/href="\/archive\/([^"]+)"/g)].map((m) => m[1]).filter((s) => s !== 'feed.xml');
    expect(links).toEqual(['weekly-8', 'tips-and-tricks-7']);
    const title = stored.get('tips-and-tricks-7')!.title;
    expect(title).toContain('<');
    expect(res.body).not.toContain(title);
    expect(res.body).toContain(title.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;'));
    expect(res.body).toContain('<p class="brand">Akira&#x27;s ML News</p>');
    expect(res.body).toContain('href="/subscribe"');
    // The archive is public: indexable, and it announces its feed (the form pages stay noindex).
    expect(res.body).toContain('<link rel="alternate" type="application/atom+xml" title="Akira&#x27;s ML News" href="/archive/feed.xml">');
    expect(res.body).not.toContain('noindex');
    expectNoPersonalData(res.body);
  });
});

describe('GET /archive/<slug>', () => {
  it('is where every email\'s "view in browser" link points, and shows the issue without personal data', async () => {
    for (const email of emails) {
      // Prepare: the link the worker put in this recipient's email.
      const html = email.body.html ?? '';
      const viewLinks = [...html.matchAll(/href="([^"]*\/archive\/[^"]*)"/g)].map((m) => m[1]!);
      expect(viewLinks.length).toBeGreaterThan(0);
      for (const link of new Set(viewLinks)) {
        expect(link.startsWith(`${stack.urls.baseUrl}/archive/`)).toBe(true);
        // Act
        const res = await fetch(link);
        const body = await res.text();
        // Assess
        expect(res.status).toBe(200);
        expect(res.headers.get('content-type')).toMatch(/^text\/html/);
        const slug = link.slice(link.lastIndexOf('/') + 1);
        expect(email.subject).toBe(stored.get(slug)!.subject);
        expect(body).toContain('example.com/');
        expect(body).not.toContain('{{');
        expect(body).not.toMatch(/\/unsubscribe/);
        // The unsubscribe and "view in browser" links are gone: the page does not link to itself.
        expect(body).not.toContain(link);
        expect(body).toContain('href="/archive"');
        expectNoPersonalData(body);
      }
    }
  });

  it('answers HEAD like GET without a body, and lets the email\'s remote images load', async () => {
    const head = await get('/archive/weekly-8', { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.body).toBe('');
    expect((await get('/archive/weekly-8')).headers.get('content-security-policy')).toMatch(/img-src https:/);
  });

  it('answers 404 with a plain page for an unknown slug, 400 for a malformed one, 405 for other methods: never 5xx', async () => {
    const unknown = await get('/archive/no-such-issue');
    expect(unknown.status).toBe(404);
    expect(unknown.type).toMatch(/^text\/html/);
    expect(unknown.body).toContain('Issue not found');
    expect(unknown.body).toContain('<meta name="robots" content="noindex">');
    for (const bad of ['/archive/..%2F..%2Fetc%2Fpasswd', '/archive/a%2Fb', '/archive/%E0%A4%A', '/archive/-x', '/archive/a/b', `/archive/${'x'.repeat(300)}`, '/archive/%00']) {
      const res = await get(bad);
      expect(res.status, bad).toBe(400);
      expect(res.body).toContain('not valid');
    }
    const post = await get('/archive/weekly-8', { method: 'POST', body: 'x=1', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, HEAD');
  });
});

describe('GET /archive/feed.xml', () => {
  it('is a valid Atom feed of the sent issues with absolute links, and no subscriber data', async () => {
    // Act
    const res = await get('/archive/feed.xml');
    // Assess
    expect(res.status).toBe(200);
    expect(res.type).toMatch(/^application\/atom\+xml/);
    const feed = parseXml(res.body);
    expect(feed.name).toBe('feed');
    expect(feed.attributes.xmlns).toBe('http://www.w3.org/2005/Atom');
    expect(child(feed, 'id').text).toBe(`${stack.urls.baseUrl}/archive`);
    expect(child(feed, 'title').text).toBeTruthy();
    expect(Date.parse(child(feed, 'updated').text)).not.toBeNaN();
    expect(child(child(feed, 'author'), 'name').text).toBeTruthy();
    const entries = children(feed, 'entry');
    expect(entries.map((e) => child(e, 'id').text)).toEqual([`${stack.urls.baseUrl}/archive/weekly-8`, `${stack.urls.baseUrl}/archive/tips-and-tricks-7`]);
    for (const e of entries) {
      const slug = child(e, 'id').text.split('/').at(-1)!;
      expect(child(e, 'title').text).toBe(stored.get(slug)!.title);
      expect(Date.parse(child(e, 'updated').text)).not.toBeNaN();
      expect(child(e, 'link').attributes.href).toBe(`${stack.urls.baseUrl}/archive/${slug}`);
      expect(child(e, 'summary').text).toBeTruthy();
      // The whole issue as escaped HTML, without anyone's links or values.
      const content = child(e, 'content');
      expect(content.attributes.type).toBe('html');
      expect(content.text).toMatch(/^<div/);
      expect(content.text).toContain(stored.get(slug)!.title.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;'));
      expect(content.text).not.toMatch(/\{\{|Unsubscribe|unsubscribe|View in browser|<body|<!--/);
      // The entry's link is the page itself.
      expect((await fetch(child(e, 'link').attributes.href!)).status).toBe(200);
    }
    // Placeholders written in the issue: each reader got their name in the email; the feed has the fallbacks.
    const weekly = entries.find((e) => child(e, 'id').text.endsWith('/weekly-8'))!;
    expect(child(weekly, 'summary').text).toBe('Hello you, another week.');
    expect(child(weekly, 'content').text).toContain('Hi reader, another lead.');
    const toChen = emails.find((m) => m.subject === 'Weekly 8' && m.destination.to.some((t) => t.includes('chen.jing')))!;
    expect(toChen.body.html).toContain('Hi 陈静, another lead.');
    expect(toChen.body.text).toContain('Hi 陈静, another lead.');
    // A custom attribute from the import: escaped in the HTML, as is in the text; the fallback for the others.
    expect(toChen.body.html).toContain('Your plan: gold &lt;&amp;&gt;.');
    expect(toChen.body.text).toContain('Your plan: gold <&>.');
    const toPlain = emails.find((m) => m.subject === 'Weekly 8' && m.destination.to.some((t) => t.includes('plain.reader')))!;
    expect(toPlain.body.html).toContain('Your plan: standard.');
    expect(child(weekly, 'content').text).toContain('Your plan: standard.');
    expect(res.body).not.toContain('gold');
    expectNoPersonalData(res.body);
  });
});

describe('archive handler faults', () => {
  it('answers 502 with a plain page and no stack trace when DynamoDB cannot be reached, and logs the fault', async () => {
    // Prepare: the real SDK client, pointed at a port nothing listens on (the stopped-emulator case).
    const dynamo = localDynamoClient('http://127.0.0.1:9');
    const logged: unknown[] = [];
    const handler = createArchiveHandler({
      campaigns: new DynamoDbCampaignRepository(DynamoDBDocumentClient.from(dynamo), 'newsletter'),
      issues: new DynamoDbIssueStore(DynamoDBDocumentClient.from(dynamo), 'newsletter'),
      publicBaseUrl: 'https://news.example.com',
      logError: (_message, err) => void logged.push(err),
    });
    try {
      for (const path of ['/archive', '/archive/feed.xml', '/archive/weekly-8']) {
        // Act
        const res = await handler(httpEvent('GET', path));
        // Assess
        expect(res.statusCode, path).toBe(502);
        expect(res.body).toContain('temporarily unavailable');
        expect(res.body).not.toMatch(/ECONNREFUSED|at .*\.ts:\d+/);
      }
      expect(logged).toHaveLength(3);
      // Bad input never reaches DynamoDB: still a 400, not a 502.
      expect((await handler(httpEvent('GET', '/archive/..%2Fx'))).statusCode).toBe(400);
    } finally {
      dynamo.destroy();
    }
  });
});
