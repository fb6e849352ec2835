/**
 * The AWS endpoint a deployed function's bundle talks to in these tests: one HTTP server per function (so every call
 * is attributed to the function that made it), set as `AWS_ENDPOINT_URL`, which the bundled SDK v3 honours.
 *
 * It records each request (signing service, operation, JSON body, answer) and sends it on:
 * - DynamoDB → dynalite, SES v2 → aws-ses-v2-local (the real emulators, unchanged requests);
 * - Secrets Manager, SQS and S3 → small in-memory fakes here, because no emulator for them runs locally. They
 *   implement only what the functions call (GetSecretValue; SendMessage(Batch); GetObject), in the wire format
 *   the SDK parses, including the body MD5 the SQS client verifies; anything else answers 400 and is recorded.
 */
import { createHash, randomUUID } from 'node:crypto';
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordedCall {
  /** The function whose endpoint received the call. */
  fn: string;
  /** The SigV4 signing name: dynamodb, ses, secretsmanager, sqs, s3. */
  service: string;
  /** The API operation, e.g. GetItem, SendEmail, SendMessageBatch; `METHOD /path` when unknown. */
  operation: string;
  method: string;
  path: string;
  /** The request body as JSON (JSON protocols and SES v2), else undefined. */
  body: any;
  status: number;
  /** The answer as JSON when it is JSON. */
  response: any;
}

export interface QueuedMessage {
  queueName: string;
  messageId: string;
  body: string;
}

/** SES v2 REST routes the functions use, by method and path. */
function sesOperation(method: string, path: string): string {
  if (method === 'POST' && path === '/v2/email/outbound-emails') return 'SendEmail';
  if (method === 'GET' && path === '/v2/email/account') return 'GetAccount';
  return `${method} ${path}`;
}

/** S3 path-style requests (the SDK uses path style for an IP endpoint). */
function s3Operation(method: string, url: URL): string {
  const [, bucket, ...key] = url.pathname.split('/');
  if (bucket && key.length > 0 && key.join('/') !== '') {
    if (method === 'GET') return 'GetObject';
    if (method === 'HEAD') return 'HeadObject';
  }
  if (bucket && method === 'GET' && url.searchParams.get('list-type') === '2') return 'ListObjectsV2';
  return `${method} ${url.pathname}`;
}

const signingService = (req: IncomingMessage) =>
  /Credential=[^/]+\/\d{8}\/[^/]+\/([^/]+)\/aws4_request/.exec(String(req.headers.authorization ?? ''))?.[1] ?? 'unsigned';

const md5 = (s: string) => createHash('md5').update(s, 'utf8').digest('hex');

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

function parseJson(buf: Buffer): any {
  if (buf.length === 0) return undefined;
  try {
    return JSON.parse(buf.toString('utf8'));
  } catch {
    return undefined;
  }
}

interface Answer {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

const json = (status: number, value: unknown, type = 'application/x-amz-json-1.1'): Answer => ({
  status,
  headers: { 'content-type': type },
  body: Buffer.from(JSON.stringify(value)),
});

/** The shared state of the fakes and the emulators' addresses; `endpointFor(fn)` starts one function's endpoint. */
export class FakeAws {
  /** Secret ARN → SecretString. */
  readonly secrets = new Map<string, string>();
  /** `bucket/key` → object body. */
  readonly objects = new Map<string, string>();
  readonly messages: QueuedMessage[] = [];
  readonly calls: RecordedCall[] = [];
  private readonly servers: Server[] = [];

  constructor(private readonly backends: { dynamoEndpoint: string; sesEndpoint: string }) {}

  callsOf(fn: string): RecordedCall[] {
    return this.calls.filter((c) => c.fn === fn);
  }

  /** Start an endpoint whose calls are recorded as `fn`'s; returns its base URL. */
  async endpointFor(fn: string): Promise<string> {
    const server = createServer((req, res) => {
      this.handle(fn, req, res).catch((err: unknown) => {
        res.writeHead(500, { 'content-type': 'text/plain' });
        res.end(`aws-front: ${(err as Error).message}`);
      });
    });
    this.servers.push(server);
    await new Promise<void>((ok, fail) => {
      server.once('error', fail);
      server.listen(0, '127.0.0.1', () => ok());
    });
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  async close(): Promise<void> {
    await Promise.all(
      this.servers.map(
        (s) =>
          new Promise<void>((ok) => {
            s.closeAllConnections();
            s.close(() => ok());
          }),
      ),
    );
  }

  private async handle(fn: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const raw = await readBody(req);
    const method = req.method ?? 'GET';
    const url = new URL(req.url ?? '/', 'http://aws-front');
    const service = signingService(req);
    const target = String(req.headers['x-amz-target'] ?? '');
    const body = parseJson(raw);
    let operation: string;
    let answer: Answer;
    switch (service) {
      case 'dynamodb':
        operation = target.split('.')[1] ?? target;
        answer = await forward(this.backends.dynamoEndpoint, req, raw);
        break;
      case 'ses':
        operation = sesOperation(method, url.pathname);
        answer = await forward(this.backends.sesEndpoint, req, raw);
        break;
      case 'secretsmanager':
        operation = target.split('.')[1] ?? target;
        answer = this.secretsManager(operation, body);
        break;
      case 'sqs':
        operation = target.split('.')[1] ?? target;
        answer = this.sqs(operation, body);
        break;
      case 's3':
        operation = s3Operation(method, url);
        answer = this.s3(operation, url);
        break;
      default:
        operation = `${method} ${url.pathname}`;
        answer = json(400, { message: `aws-front: no service for signing name ${service}` });
    }
    this.calls.push({ fn, service, operation, method, path: url.pathname, body, status: answer.status, response: parseJson(answer.body) });
    res.writeHead(answer.status, { ...answer.headers, 'content-length': String(answer.body.length) });
    res.end(method === 'HEAD' ? undefined : answer.body);
  }

  private secretsManager(operation: string, body: any): Answer {
    if (operation !== 'GetSecretValue') return json(400, { __type: 'InvalidRequestException', message: `fake: ${operation}` });
    const id = String(body?.SecretId ?? '');
    const value = this.secrets.get(id);
    if (value === undefined) return json(400, { __type: 'ResourceNotFoundException', message: `fake: no secret ${id}` });
    return json(200, { ARN: id, Name: id.split(':').at(-1), VersionId: 'v1', SecretString: value, VersionStages: ['AWSCURRENT'], CreatedDate: 1_767_225_600 });
  }

  private sqs(operation: string, body: any): Answer {
    const type = 'application/x-amz-json-1.0';
    const queueName = String(body?.QueueUrl ?? '').split('/').at(-1) ?? '';
    const enqueue = (text: string) => {
      const m = { queueName, messageId: randomUUID(), body: text };
      this.messages.push(m);
      return m;
    };
    if (operation === 'SendMessageBatch') {
      const entries = (body?.Entries ?? []) as Array<{ Id: string; MessageBody: string }>;
      const Successful = entries.map((e) => ({ Id: e.Id, MessageId: enqueue(e.MessageBody).messageId, MD5OfMessageBody: md5(e.MessageBody) }));
      return json(200, { Successful, Failed: [] }, type);
    }
    if (operation === 'SendMessage') {
      const text = String(body?.MessageBody ?? '');
      return json(200, { MessageId: enqueue(text).messageId, MD5OfMessageBody: md5(text) }, type);
    }
    return json(400, { __type: 'com.amazonaws.sqs#InvalidAction', message: `fake: ${operation}` }, type);
  }

  private s3(operation: string, url: URL): Answer {
    const key = decodeURIComponent(url.pathname.slice(1));
    if (operation === 'GetObject' || operation === 'HeadObject') {
      const object = this.objects.get(key);
      if (object === undefined) {
        const xml = `<?xml version="1.0" encoding="UTF-8"?><Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message><Key>${key}</Key></Error>`;
        return { status: 404, headers: { 'content-type': 'application/xml' }, body: Buffer.from(xml) };
      }
      const buf = Buffer.from(object, 'utf8');
      return {
        status: 200,
        headers: { 'content-type': 'text/markdown', etag: `"${md5(object)}"`, 'last-modified': new Date(0).toUTCString() },
        body: buf,
      };
    }
    return { status: 400, headers: { 'content-type': 'application/xml' }, body: Buffer.from(`<Error><Code>NotImplemented</Code><Message>fake: ${operation}</Message></Error>`) };
  }
}

/** Send the request unchanged to an emulator and return its answer. */
function forward(endpoint: string, req: IncomingMessage, body: Buffer): Promise<Answer> {
  const target = new URL(req.url ?? '/', endpoint);
  return new Promise((ok, fail) => {
    const out = request(target, { method: req.method, headers: { ...req.headers, host: target.host } }, (res) => {
      readBody(res).then((buf) => {
        const headers: Record<string, string> = {};
        for (const [k, v] of Object.entries(res.headers)) {
          if (v !== undefined && k !== 'content-length' && k !== 'transfer-encoding' && k !== 'connection') headers[k] = String(v);
        }
        ok({ status: res.statusCode ?? 502, headers, body: buf });
      }, fail);
    });
    out.once('error', fail);
    out.end(body);
  });
}
