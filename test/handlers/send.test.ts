/** The send Lambda handler: Lambda context → deadline, bad events → values (in-memory ports). */
import { describe, expect, it } from 'vitest';
import { createSendHandler } from '../../lambdas/handlers/send.ts';
import { world } from '../core/sending/fakes.ts';

describe('send handler', () => {
  it('uses the Lambda context’s remaining time to stop the fan-out early with `continuing`', async () => {
    const w = world();
    await w.seed(Array.from({ length: 30 }, (_, i) => [`r${i}@x.com`, 'confirmed'] as [string, 'confirmed']));
    const handler = createSendHandler({ ...w.sendDeps, pageSize: 10 });
    const result = await handler({ issue: { markdown: 'h-1' }, mode: 'send' }, { getRemainingTimeInMillis: () => 5_000 });
    expect(result.status).toBe('continuing');
    expect(w.queue.messages).toHaveLength(0);
    const resumed = await handler({ issue: { markdown: 'h-1' }, mode: 'send', resume: true }, { getRemainingTimeInMillis: () => 600_000 });
    expect(resumed.status).toBe('complete');
    expect(w.queue.messages.flatMap((m) => (JSON.parse(m.body) as { recipients: unknown[] }).recipients)).toHaveLength(30);
  });

  it('answers malformed events with `invalid`, without throwing', async () => {
    const handler = createSendHandler(world().sendDeps);
    for (const bad of [undefined, 'x', [], { mode: 'send', issue: { markdown: 1 } }]) {
      await expect(handler(bad)).resolves.toMatchObject({ status: 'invalid' });
    }
  });
});
