/**
 * Deployment settings from CDK context and the config file (infra/settings.ts): validation, precedence, and the
 * worker sizing derived from the send rate.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../infra/bundling.ts';
import {
  API_THROTTLE_DEFAULTS, CONTEXT_KEYS, DEFAULT_CONFIG_FILE, RECIPIENTS_PER_MESSAGE, SettingsError, WORKER_TIMEOUT_SECONDS,
  configFileFor, parseSettings, readConfigFile, workerSizing, type ContextKey,
} from '../../infra/settings.ts';

const read = (values: Partial<Record<ContextKey, unknown>>) => (key: ContextKey) => values[key];
const required = { sender: 'News <news@example.com>', postalAddress: '1 Main St, Springfield' };

describe('parseSettings', () => {
  it('reads -c strings and applies the defaults', () => {
    const s = parseSettings(read({ ...required, sendRate: '50', allowedOrigin: 'https://example.com' }));
    expect(s).toMatchObject({
      senderEmail: 'news@example.com', senderDomain: 'example.com', sendRate: 50, sendRateFraction: 0.8,
      allowedOrigin: 'https://example.com', apiRateLimit: 100, apiBurstLimit: 200, subscribeRateLimit: 10, subscribeBurstLimit: 20,
      stackPrefix: 'Newsletter',
    });
    expect(s.domain).toBeUndefined();
    expect(s.apiDomain).toBeUndefined();
    expect(API_THROTTLE_DEFAULTS).toMatchObject({ rate: s.apiRateLimit, burst: s.apiBurstLimit });
  });

  it('lists every problem in one error', () => {
    let err: unknown;
    try {
      parseSettings(read({ sendRate: 'fast', allowedOrigin: 'https://example.com/path', domain: 'Not A Domain' }));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(SettingsError);
    const lines = (err as Error).message.split('\n').slice(1);
    expect(lines.map((l) => l.trim().split(':')[0])).toEqual(
      expect.arrayContaining(['-c sender', '-c postalAddress', '-c sendRate', '-c allowedOrigin', '-c domain']),
    );
  });

  it('refuses a sender outside the given domain (SES would reject every send)', () => {
    expect(() => parseSettings(read({ ...required, domain: 'example.org' }))).toThrow(/example\.com is not example\.org/);
    expect(parseSettings(read({ ...required, sender: 'news@mail.example.org', domain: 'example.org' })).domain).toBe('example.org');
  });
});

describe('custom domain settings', () => {
  it('accepts an API host name, lower-cased, with an optional certificate ARN or hosted zone', () => {
    const s = parseSettings(read({ ...required, domain: 'example.com', apiDomain: 'News.Example.com', hostedZoneId: 'Z0123456789ABCDEFGHIJ' }));
    expect(s).toMatchObject({ apiDomain: 'news.example.com', hostedZoneId: 'Z0123456789ABCDEFGHIJ' });
    const arn = 'arn:aws:acm:us-east-1:123456789012:certificate/0a1b2c3d-0000-4000-8000-000000000000';
    expect(parseSettings(read({ ...required, apiDomain: 'links.example.net', certificateArn: arn })).certificateArn).toBe(arn);
  });

  it('refuses a URL for apiDomain, a certificate or zone without apiDomain, a zone without domain or outside it', () => {
    const problems = (values: Partial<Record<ContextKey, unknown>>) => {
      try {
        parseSettings(read({ ...required, ...values }));
      } catch (e) {
        return (e as Error).message;
      }
      return '';
    };
    expect(problems({ apiDomain: 'https://news.example.com/' })).toMatch(/-c apiDomain: must be a host name/);
    expect(problems({ certificateArn: 'arn:aws:acm:us-east-1:123456789012:certificate/abc' })).toMatch(/-c certificateArn: needs apiDomain/);
    expect(problems({ apiDomain: 'news.example.com', certificateArn: 'not-an-arn' })).toMatch(/-c certificateArn: must be an ACM certificate ARN/);
    expect(problems({ apiDomain: 'news.example.com', hostedZoneId: 'Z0123456789ABCDEFGHIJ' })).toMatch(/-c hostedZoneId: needs domain/);
    expect(problems({ domain: 'example.com', apiDomain: 'news.example.org', hostedZoneId: 'Z0123456789ABCDEFGHIJ' })).toMatch(
      /-c apiDomain: must be in the hosted zone's domain example\.com/,
    );
    expect(problems({ subscribeRateLimit: '30', subscribeBurstLimit: '20' })).toMatch(/-c subscribeBurstLimit: must be at least subscribeRateLimit/);
  });
});

describe('config file (newsletter.config.json)', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'newsletter-config-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  let n = 0;
  const file = (content: unknown) => {
    const f = path.join(dir, `config-${++n}.json`);
    writeFileSync(f, typeof content === 'string' ? content : JSON.stringify(content));
    return f;
  };
  const message = (fn: () => unknown) => {
    try {
      fn();
    } catch (e) {
      expect(e).toBeInstanceOf(SettingsError);
      return (e as Error).message;
    }
    throw new Error('expected a SettingsError');
  };

  it('supplies every setting the context does not, with -c winning, and JSON numbers as numbers', () => {
    const config = readConfigFile(file({ ...required, sendRate: 14, apiDomain: 'news.example.com', '//': 'a comment' }), true)!;
    const s = parseSettings(read({ sendRate: '50' }), config);
    expect(s).toMatchObject({ senderEmail: 'news@example.com', postalAddress: required.postalAddress, sendRate: 50, apiDomain: 'news.example.com' });
    expect(parseSettings(read({}), config).sendRate).toBe(14);
  });

  it('names the file for a bad value that came from it, and -c for one from the context', () => {
    const config = readConfigFile(file({ sender: 'not an address', postalAddress: required.postalAddress }), true)!;
    const text = message(() => parseSettings(read({ sendRate: 'fast' }), config));
    expect(text).toContain(`sender (${path.basename(config.path)}): must be an email address`);
    expect(text).toContain('-c sendRate:');
    expect(message(() => parseSettings(read({}), undefined))).toContain(`-c sender: is required: pass -c sender=`);
  });

  it('rejects unknown keys (typos), JSON that is not an object, and unreadable JSON, naming the file', () => {
    const typo = file({ ...required, sendrate: 14 });
    expect(message(() => readConfigFile(typo, true))).toMatch(new RegExp(`${path.basename(typo)} has unknown key sendrate \\(known: sender, `));
    expect(message(() => readConfigFile(file([required]), true))).toMatch(/must hold one JSON object/);
    expect(message(() => readConfigFile(file('{"sender": '), true))).toMatch(/is not valid JSON/);
  });

  it('is optional by default, but a file named with -c config must exist', () => {
    expect(configFileFor(undefined, dir)).toBeUndefined(); // no newsletter.config.json in dir
    expect(message(() => configFileFor('missing.json', dir))).toMatch(/Cannot read the config file .*missing\.json/);
    writeFileSync(path.join(dir, DEFAULT_CONFIG_FILE), JSON.stringify(required));
    expect(configFileFor(undefined, dir)?.values).toEqual(required);
    expect(configFileFor(path.basename(file({ stackPrefix: 'Other' })), dir)?.values).toEqual({ stackPrefix: 'Other' });
  });

  it('the committed example is valid and names every setting', () => {
    const example = readConfigFile(path.join(REPO_ROOT, 'newsletter.config.example.json'), true)!;
    const keys = Object.keys(example.values).filter((k) => !k.startsWith('//'));
    // Every key but the ones that only make sense with a Route 53 zone or an existing certificate.
    expect([...keys, 'certificateArn', 'hostedZoneId'].sort()).toEqual([...CONTEXT_KEYS].sort());
    expect(parseSettings(() => undefined, example)).toMatchObject({ senderDomain: 'example.com', apiDomain: 'news.example.com' });
  });
});

describe('workerSizing', () => {
  it('grows maxConcurrency with the send rate, between the SQS minimum of 2 and a cap of 100', () => {
    const concurrency = (sendRate: number | undefined) => workerSizing({ sendRate, sendRateFraction: 0.8 }).maxConcurrency;
    expect(concurrency(undefined)).toBe(2); // SES's default 14/s x 0.8 = 11.2/s
    expect(concurrency(50)).toBe(4);
    expect(concurrency(500)).toBe(40);
    expect(concurrency(5000)).toBe(100);
    const rates = [1, 14, 50, 100, 200, 1000, 5000];
    const sized = rates.map(concurrency);
    expect(sized).toEqual([...sized].sort((a, b) => a - b));
  });

  it('sizes a batch so one worker can send it at its pace within half the worker timeout', () => {
    for (const sendRate of [1, 14, 50, 500, 5000]) {
      const { rate, maxConcurrency, batchSize } = workerSizing({ sendRate, sendRateFraction: 0.8 });
      expect(batchSize).toBeGreaterThanOrEqual(1);
      expect(batchSize).toBeLessThanOrEqual(10);
      const seconds = (batchSize * RECIPIENTS_PER_MESSAGE) / (rate / maxConcurrency);
      // A single message (the floor) must at least fit in the whole timeout.
      expect(seconds, `sendRate ${sendRate}`).toBeLessThanOrEqual(batchSize > 1 ? WORKER_TIMEOUT_SECONDS / 2 : WORKER_TIMEOUT_SECONDS);
    }
  });
});
