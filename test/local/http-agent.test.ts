/**
 * LOCAL_HTTP_AGENT: the local SDK clients drop an idle keep-alive socket before the server closes it, so a request
 * never lands on a socket the server is closing (ECONNRESET, which the single-attempt SES client must count as in
 * doubt). A real Node server with a 3 s keep-alive (it announces `Keep-Alive: timeout=3`) and a real agent.
 */
import { Agent, createServer, request, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { LOCAL_HTTP_AGENT } from '../../lambdas/local/emulators.ts';

let server: Server | undefined;
afterEach(() => new Promise<void>((done) => (server ? (server.closeAllConnections(), server.close(() => done())) : done())));

async function idleSocketAfter(agentOptions: ConstructorParameters<typeof Agent>[0], idleMs: number) {
  const closedBy: string[] = [];
  server = createServer((_req, res) => res.end('ok'));
  server.keepAliveTimeout = 3_000;
  server.on('connection', (s: Socket) => s.on('end', () => closedBy.push('client')));
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  const agent = new Agent(agentOptions);
  const header = await new Promise<string | undefined>((resolve, reject) => {
    request({ host: '127.0.0.1', port, agent }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.headers['keep-alive'] as string | undefined));
    }).on('error', reject).end();
  });
  await new Promise((r) => setTimeout(r, idleMs));
  const free = Object.values(agent.freeSockets).flat().length;
  agent.destroy();
  return { header, free, closedBy };
}

describe('LOCAL_HTTP_AGENT', () => {
  it('closes an idle socket itself, a second before the server would (the server announces timeout=3)', async () => {
    const r = await idleSocketAfter(LOCAL_HTTP_AGENT, 2_500);
    expect(r.header).toBe('timeout=3');
    expect(r.free).toBe(0);
    expect(r.closedBy).toEqual(['client']);
  });

  it('control: an agent without a timeout of its own keeps the socket until the server closes it', async () => {
    const r = await idleSocketAfter({ keepAlive: true }, 2_500);
    expect(r.free).toBe(1);
    expect(r.closedBy).toEqual([]);
  });
});
