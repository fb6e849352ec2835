/**
 * Request body parsing for API Gateway HTTP API (payload v2) events: size limit, base64 bodies, and the three
 * form encodings we accept. Every client mistake becomes an HttpError with a 4xx status and a plain message.
 */
import type { APIGatewayProxyEventV2 } from 'aws-lambda';

export const MAX_BODY_BYTES = 16 * 1024;

export class HttpError extends Error {
  override name = 'HttpError';
  constructor(
    readonly statusCode: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

export type Fields = Record<string, string>;

/** Header lookup, case-insensitive (API Gateway lower-cases them, other callers may not). */
export function header(event: Pick<APIGatewayProxyEventV2, 'headers'>, name: string): string | undefined {
  const wanted = name.toLowerCase();
  for (const [k, v] of Object.entries(event.headers ?? {})) if (k.toLowerCase() === wanted) return v;
  return undefined;
}

/** The body as bytes, refusing anything over {@link MAX_BODY_BYTES} before decoding it in full. */
export function bodyBytes(event: Pick<APIGatewayProxyEventV2, 'body' | 'isBase64Encoded'>): Buffer {
  const body = event.body ?? '';
  // base64 inflates by 4/3: anything longer than this cannot decode to an acceptable size.
  const limit = event.isBase64Encoded ? Math.ceil(MAX_BODY_BYTES / 3) * 4 + 4 : MAX_BODY_BYTES * 4;
  if (body.length > limit) throw new HttpError(413, `The request body is larger than ${MAX_BODY_BYTES / 1024} KB.`);
  const bytes = event.isBase64Encoded ? Buffer.from(body, 'base64') : Buffer.from(body, 'utf8');
  if (bytes.length > MAX_BODY_BYTES) throw new HttpError(413, `The request body is larger than ${MAX_BODY_BYTES / 1024} KB.`);
  return bytes;
}

function mediaType(contentType: string): { type: string; params: Record<string, string> } {
  const [type = '', ...rest] = contentType.split(';');
  const params: Record<string, string> = {};
  for (const p of rest) {
    const eq = p.indexOf('=');
    if (eq < 0) continue;
    params[p.slice(0, eq).trim().toLowerCase()] = p.slice(eq + 1).trim().replace(/^"(.*)"$/, '$1');
  }
  return { type: type.trim().toLowerCase(), params };
}

function firstWins(fields: Fields, name: string, value: string) {
  if (!Object.hasOwn(fields, name)) fields[name] = value;
}

function parseUrlencoded(text: string): Fields {
  const fields: Fields = Object.create(null);
  for (const [k, v] of new URLSearchParams(text)) firstWins(fields, k, v);
  return fields;
}

function parseJson(text: string): Fields {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new HttpError(400, 'The request body is not valid JSON.');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new HttpError(400, 'The request body must be a JSON object.');
  }
  const fields: Fields = Object.create(null);
  for (const [k, v] of Object.entries(value)) {
    if (v === null || v === undefined) continue;
    if (typeof v !== 'string') throw new HttpError(400, `The field "${k}" must be a string.`);
    fields[k] = v;
  }
  return fields;
}

/** Text fields of a multipart/form-data body (RFC 7578). File parts are ignored. */
function parseMultipart(bytes: Buffer, boundary: string | undefined): Fields {
  if (!boundary || boundary.length > 70) throw new HttpError(400, 'The multipart body has no valid boundary.');
  const text = bytes.toString('latin1'); // byte-preserving; fields are decoded as UTF-8 below
  const delimiter = `--${boundary}`;
  const chunks = text.split(delimiter);
  if (chunks.length < 3 || !chunks[chunks.length - 1]!.startsWith('--')) {
    throw new HttpError(400, 'The multipart body is malformed.');
  }
  const fields: Fields = Object.create(null);
  for (const chunk of chunks.slice(1, -1)) {
    const part = chunk.replace(/^\r?\n/, '').replace(/\r?\n$/, '');
    const split = part.search(/\r?\n\r?\n/);
    if (split < 0) throw new HttpError(400, 'The multipart body is malformed.');
    const head = part.slice(0, split);
    const value = part.slice(split).replace(/^\r?\n\r?\n/, '');
    const disposition = /^content-disposition:\s*form-data\s*;(.*)$/im.exec(head);
    if (!disposition) throw new HttpError(400, 'A multipart part has no Content-Disposition.');
    if (/;\s*filename\*?=/i.test(`;${disposition[1]}`)) continue;
    const name = /(?:^|;)\s*name="([^"]*)"/i.exec(disposition[1]!) ?? /(?:^|;)\s*name=([^;\s]+)/i.exec(disposition[1]!);
    if (!name) throw new HttpError(400, 'A multipart part has no name.');
    firstWins(fields, Buffer.from(name[1]!, 'latin1').toString('utf8'), Buffer.from(value, 'latin1').toString('utf8'));
  }
  return fields;
}

/**
 * Parse a form body: `application/x-www-form-urlencoded`, `multipart/form-data` or `application/json`
 * (an object of strings). An empty body gives no fields whatever the type. Other types: 415.
 */
export function parseForm(event: Pick<APIGatewayProxyEventV2, 'headers' | 'body' | 'isBase64Encoded'>): Fields {
  const bytes = bodyBytes(event);
  if (bytes.length === 0) return Object.create(null) as Fields;
  const { type, params } = mediaType(header(event, 'content-type') ?? '');
  const text = () => {
    const decoded = new TextDecoder('utf-8', { fatal: false }).decode(bytes);
    return decoded;
  };
  switch (type) {
    case 'application/x-www-form-urlencoded':
      return parseUrlencoded(text());
    case 'application/json':
      return parseJson(text());
    case 'multipart/form-data':
      return parseMultipart(bytes, params.boundary);
    case '':
      throw new HttpError(415, 'Send the form as application/x-www-form-urlencoded, multipart/form-data or application/json.');
    default:
      throw new HttpError(415, `Unsupported content type ${type}: use application/x-www-form-urlencoded, multipart/form-data or application/json.`);
  }
}

/** True when the client sent JSON or asked for it: we then answer in JSON instead of HTML. */
export function wantsJson(event: Pick<APIGatewayProxyEventV2, 'headers'>): boolean {
  const type = mediaType(header(event, 'content-type') ?? '').type;
  const accept = header(event, 'accept') ?? '';
  return type === 'application/json' || (/application\/json/i.test(accept) && !/text\/html/i.test(accept));
}
