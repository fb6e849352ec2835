/** Response builders for API Gateway HTTP API (payload v2), with the security headers every page needs. */
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';

export type HttpResult = APIGatewayProxyStructuredResultV2 & { statusCode: number; headers: Record<string, string> };

const COMMON_HEADERS: Record<string, string> = {
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
  // Tokens travel in URLs: never leak them to other sites through Referer.
  'referrer-policy': 'no-referrer',
};

const HTML_HEADERS: Record<string, string> = {
  'content-type': 'text/html; charset=utf-8',
  'content-security-policy':
    "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
  'x-frame-options': 'DENY',
};

export function html(statusCode: number, body: string, headers: Record<string, string> = {}): HttpResult {
  return { statusCode, headers: { ...COMMON_HEADERS, ...HTML_HEADERS, ...headers }, body };
}

export function json(statusCode: number, value: unknown, headers: Record<string, string> = {}): HttpResult {
  return {
    statusCode,
    headers: { ...COMMON_HEADERS, 'content-type': 'application/json; charset=utf-8', ...headers },
    body: JSON.stringify(value),
  };
}

export function text(statusCode: number, body: string, headers: Record<string, string> = {}): HttpResult {
  return { statusCode, headers: { ...COMMON_HEADERS, 'content-type': 'text/plain; charset=utf-8', ...headers }, body };
}
