/**
 * A node:http server that speaks API Gateway HTTP API payload v2 to Lambda-style handlers, so the local stack
 * serves exactly the handlers that run on AWS. Requests are dispatched by path prefix (longest wins).
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2 } from 'aws-lambda';

export type LambdaHttpHandler = (event: APIGatewayProxyEventV2) => Promise<APIGatewayProxyResultV2>;

/** API Gateway's own payload limit; our handlers enforce their smaller limits themselves. */
const MAX_REQUEST_BYTES = 10 * 1024 * 1024;
const TEXT_TYPES = /^(text\/|application\/(json|x-www-form-urlencoded|xml)|multipart\/form-data)/i;

export class RouteTable {
  private readonly routes: Array<{ prefix: string; handler: LambdaHttpHandler }> = [];

  /**
   * Serve `prefix` (exact path or anything below it, e.g. `/archive` → `/archive/031`) with `handler`.
   * `/` catches everything no longer prefix claims. Adding a prefix again replaces its handler.
   */
  add(prefix: string, handler: LambdaHttpHandler): this {
    const normalized = prefix === '/' ? '/' : `/${prefix.replace(/^\/+|\/+$/g, '')}`;
    const existing = this.routes.findIndex((r) => r.prefix === normalized);
    if (existing >= 0) this.routes.splice(existing, 1);
    this.routes.push({ prefix: normalized, handler });
    this.routes.sort((a, b) => b.prefix.length - a.prefix.length);
    return this;
  }

  match(path: string): LambdaHttpHandler | undefined {
    return this.routes.find(
      (r) => r.prefix === '/' || path === r.prefix || path.startsWith(`${r.prefix}/`),
    )?.handler;
  }
}

/** Build the v2 event API Gateway would send for this request. */
export function toEventV2(req: IncomingMessage, body: Buffer): APIGatewayProxyEventV2 {
  const url = new URL(req.url ?? '/', 'http://localhost');
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers)) {
    if (v === undefined || k === 'cookie') continue;
    headers[k.toLowerCase()] = Array.isArray(v) ? v.join(',') : v;
  }
  const cookies = req.headers.cookie?.split(/;\s*/).filter(Boolean);
  const query: Record<string, string> = {};
  for (const [k, v] of url.searchParams) query[k] = k in query ? `${query[k]},${v}` : v;
  const contentType = headers['content-type'] ?? '';
  const isText = body.length === 0 || TEXT_TYPES.test(contentType);
  const now = new Date();
  const method = (req.method ?? 'GET').toUpperCase();
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath: url.pathname,
    rawQueryString: url.search.slice(1),
    ...(cookies && cookies.length > 0 ? { cookies } : {}),
    headers,
    ...(Object.keys(query).length > 0 ? { queryStringParameters: query } : {}),
    requestContext: {
      accountId: 'local',
      apiId: 'local',
      domainName: headers.host ?? 'localhost',
      domainPrefix: (headers.host ?? 'localhost').split('.')[0] ?? 'localhost',
      http: {
        method,
        path: url.pathname,
        protocol: `HTTP/${req.httpVersion}`,
        sourceIp: req.socket.remoteAddress ?? '127.0.0.1',
        userAgent: headers['user-agent'] ?? '',
      },
      requestId: randomUUID(),
      routeKey: '$default',
      stage: '$default',
      time: now.toUTCString(),
      timeEpoch: now.getTime(),
    },
    ...(body.length > 0 ? { body: isText ? body.toString('utf8') : body.toString('base64') } : {}),
    isBase64Encoded: body.length > 0 && !isText,
  };
}

/** Write a v2 result (structured or the bare-string shorthand) to the response. */
export function writeResultV2(res: ServerResponse, result: APIGatewayProxyResultV2): void {
  if (typeof result === 'string' || result === null || typeof result !== 'object' || !('statusCode' in result || 'body' in result)) {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(typeof result === 'string' ? result : JSON.stringify(result));
    return;
  }
  const headers: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(result.headers ?? {})) headers[k] = String(v);
  if (result.cookies?.length) headers['set-cookie'] = result.cookies;
  res.writeHead(result.statusCode ?? 200, headers);
  const body = result.body ?? '';
  res.end(result.isBase64Encoded ? Buffer.from(body, 'base64') : body);
}

function readBody(req: IncomingMessage): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_REQUEST_BYTES) {
        resolve(undefined);
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/** Start the server on host:port (0 = a free port). */
export async function startHttpServer(routes: RouteTable, opts: { port?: number; host?: string } = {}): Promise<{ server: Server; port: number; close(): Promise<void> }> {
  const server = createServer(async (req, res) => {
    try {
      const body = await readBody(req);
      if (!body) {
        res.writeHead(413, { 'content-type': 'text/plain' }).end('Request body too large');
        return;
      }
      let event: APIGatewayProxyEventV2;
      try {
        event = toEventV2(req, body);
      } catch {
        // A request target URL cannot parse (`//`, `//[::1`): the client's fault, as API Gateway would say.
        res.writeHead(400, { 'content-type': 'text/plain' }).end('Bad request path');
        return;
      }
      const handler = routes.match(event.rawPath);
      if (!handler) {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('Not found');
        return;
      }
      writeResultV2(res, await handler(event));
    } catch (err) {
      // Handlers map their own errors; this is a bug in a handler, shown as API Gateway would.
      console.error('local http server: handler threw', err);
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ message: 'Internal Server Error' }));
    }
  });
  const port = await new Promise<number>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
  });
  return {
    server,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
