/** lambdas/runtime/config.ts: what each function's start-up accepts, fills in and refuses (zod/mini). */
import * as z from 'zod/mini';
import { describe, expect, it } from 'vitest';
import { ConfigError, configFor, loadConfig, positiveInt } from '../../lambdas/runtime/config.ts';

const sendVars = { TABLE_NAME: true, PUBLIC_BASE_URL: true, SEND_RATE_FRACTION: true, MAX_SEND_RATE: true, CONFIGURATION_SET: true } as const;

describe('loadConfig', () => {
  it('keeps only the picked variables, strips trailing slashes from PUBLIC_BASE_URL, coerces numbers and fills defaults', () => {
    const config = loadConfig(configFor(sendVars), {
      TABLE_NAME: 'newsletter', PUBLIC_BASE_URL: 'https://news.example.com//', MAX_SEND_RATE: '14', QUEUE_URL: 'not read', SENDER: 'x',
    });
    expect(config).toEqual({ TABLE_NAME: 'newsletter', PUBLIC_BASE_URL: 'https://news.example.com', MAX_SEND_RATE: 14, SEND_RATE_FRACTION: 0.8 });
  });

  it('names every missing or invalid variable in one ConfigError, with English messages', () => {
    const err = (() => {
      try {
        loadConfig(configFor(sendVars), { PUBLIC_BASE_URL: 'news.example.com', SEND_RATE_FRACTION: '1.5', MAX_SEND_RATE: 'fast', CONFIGURATION_SET: '' });
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(ConfigError);
    const message = (err as Error).message;
    expect(message).toMatch(/^Invalid configuration: /);
    expect(message).toContain('TABLE_NAME: Invalid input: expected string, received undefined');
    expect(message).toContain('PUBLIC_BASE_URL: Invalid URL');
    expect(message).toContain('SEND_RATE_FRACTION: Too big: expected number to be <=1');
    expect(message).toContain('MAX_SEND_RATE: Invalid input: expected number, received NaN');
    expect(message).toContain('CONFIGURATION_SET: Too small: expected string to have >=1 characters');
  });

  it('positiveInt takes whole numbers above zero given as strings, as the worker\'s WORKER_CONCURRENCY', () => {
    const schema = z.object({ N: z._default(positiveInt, 1) });
    expect(loadConfig(schema, {})).toEqual({ N: 1 });
    expect(loadConfig(schema, { N: '12' })).toEqual({ N: 12 });
    for (const bad of ['0', '-3', '2.5', 'two']) expect(() => loadConfig(schema, { N: bad }), bad).toThrow(/^Invalid configuration: N: /);
  });
});
