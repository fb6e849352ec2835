/**
 * A tiny method + path router for HTTP API payload v2 events: exact paths, 404 for unknown paths,
 * 405 with an Allow header for a known path and the wrong method. HEAD is served by the GET route.
 */
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { HttpError } from './body.ts';
import type { HttpResult } from './responses.ts';

export type RouteHandler = (event: APIGatewayProxyEventV2) => Promise<HttpResult>;
export type Routes = Record<string, Partial<Record<'GET' | 'POST' | 'PUT' | 'DELETE' | 'PATCH', RouteHandler>>>;

/** The request path without a trailing slash (`/subscribe/` → `/subscribe`), keeping `/`. */
export function requestPath(event: APIGatewayProxyEventV2): string {
  const path = event.rawPath || event.requestContext?.http?.path || '/';
  return path.length > 1 ? path.replace(/\/+$/, '') : path;
}

/** Find the handler for the event, or throw HttpError 404 / 405. */
export function route(routes: Routes, event: APIGatewayProxyEventV2): { handler: RouteHandler; head: boolean } {
  const path = requestPath(event);
  const methods = Object.hasOwn(routes, path) ? routes[path] : undefined;
  if (!methods) throw new HttpError(404, `Not found: ${path}`);
  const method = (event.requestContext?.http?.method ?? 'GET').toUpperCase();
  const head = method === 'HEAD';
  const handler = methods[(head ? 'GET' : method) as keyof typeof methods];
  if (!handler) {
    const allow = Object.keys(methods);
    if (allow.includes('GET')) allow.push('HEAD');
    throw new HttpError(405, `Method ${method} is not allowed on ${path}.`, { allow: allow.join(', ') });
  }
  return { handler, head };
}
