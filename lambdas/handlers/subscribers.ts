/**
 * The subscribers HTTP API (API Gateway HTTP API, payload v2): subscribe form, double opt-in confirmation and
 * RFC 8058 one-click unsubscribe. Thin: parse the event, call the core service, map the outcome to a page.
 * HTML by default; JSON when the client sends or asks for JSON.
 */
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { parseSubscribeForm } from '../core/subscribers/subscribe-form.ts';
import {
  createSubscriberService,
  type SubscriberService,
  type SubscriberServiceDeps,
  type TokenFailure,
} from '../core/subscribers/subscriber-service.ts';
import { HttpError, parseForm, wantsJson } from './http/body.ts';
import { html, json, type HttpResult } from './http/responses.ts';
import { requestPath, route, type Routes } from './http/router.ts';
import { createConfirmationRenderer } from './http/confirmation-email.ts';
import { createPageRenderer, type PageName } from './http/pages.ts';
import { displayName } from '../core/subscribers/email.ts';

export interface SubscribersHandlerDeps {
  service: SubscriberService;
  renderPage: (page: PageName, data?: Record<string, unknown>) => string;
  /**
   * Where unexpected faults (answered 502) are reported, once each, with what was thrown and the request's method
   * and path (console by default; Powertools in Lambda, see runtime/observability.ts `logError`).
   */
  logError?: (message: string, err: unknown, detail?: Record<string, unknown>) => void;
  /**
   * Where refused requests (4xx) are noted, once each: status, method, path and why. Never the token, the query
   * string or the form's fields. None by default; Powertools in Lambda.
   */
  log?: { warn(message: string, detail: Record<string, unknown>): void };
}

export type HttpHandler = (event: APIGatewayProxyEventV2) => Promise<HttpResult>;

/** The same answer for every address, whatever its status (and for the honeypot). */
const ACCEPTED_MESSAGE = 'Check your inbox: if this address can subscribe, a confirmation link is on its way.';

function queryParam(event: APIGatewayProxyEventV2, name: string): string | undefined {
  return new URLSearchParams(event.rawQueryString ?? '').get(name) ?? event.queryStringParameters?.[name] ?? undefined;
}

function tokenMessage(reason: TokenFailure): string {
  return reason === 'expired'
    ? 'This link has expired. Subscribe again to receive a new one.'
    : 'This link is not valid. Check that you opened or copied the whole link from the email.';
}

/** What a refusal's log entry says about the request: its method and path (no query string: tokens travel there). */
function requestOf(event: APIGatewayProxyEventV2): { method: string; path: string } {
  return { method: (event.requestContext?.http?.method ?? 'GET').toUpperCase(), path: requestPath(event) };
}

/** The route table; exported so that the local server and tests can see what is served. */
export function createSubscribersRoutes(deps: SubscribersHandlerDeps): Routes {
  const { service, renderPage } = deps;

  const page = (event: APIGatewayProxyEventV2, status: number, name: PageName, data: Record<string, unknown>, jsonBody: unknown) =>
    wantsJson(event) ? json(status, jsonBody) : html(status, renderPage(name, data));

  /** A refused request, logged once: `reason` is a short code (the token's failure, not the token). */
  const refused = (event: APIGatewayProxyEventV2, status: number, reason: string) =>
    deps.log?.warn('request refused', { statusCode: status, ...requestOf(event), reason });

  const fail = (event: APIGatewayProxyEventV2, status: number, title: string, message: string, reason: string, showSubscribeLink = true) => {
    refused(event, status, reason);
    return page(event, status, 'error', { title, message, showSubscribeLink }, { error: message });
  };

  return {
    '/health': { GET: async () => json(200, { status: 'ok' }) },

    '/subscribe': {
      GET: async (event) => html(200, renderPage('subscribe', { source: queryParam(event, 'source') ?? '' })),
      POST: async (event) => {
        const fields = parseForm(event);
        const check = parseSubscribeForm(fields);
        if (!check.ok) {
          // The form's fields are not logged: the check's message says what was wrong with them.
          refused(event, 400, `invalid form: ${check.message}`);
          return page(event, 400, 'subscribe', { error: check.message, email: fields.email, name: fields.name, source: fields.source }, { error: check.message });
        }
        await service.subscribe(check.request);
        return page(event, 200, 'check-inbox', {}, { status: 'ok', message: ACCEPTED_MESSAGE });
      },
    },

    '/confirm': {
      // Never changes state: mail scanners fetch links.
      GET: async (event) => {
        const token = queryParam(event, 'token');
        const result = await service.inspect(token, 'confirm');
        if (!result.ok) return fail(event, 400, 'Link not valid', tokenMessage(result.reason), `${result.reason} token`);
        return page(event, 200, 'confirm', { email: result.claims.email, token }, { status: 'pending', email: result.claims.email });
      },
      POST: async (event) => {
        const fields = parseForm(event);
        const outcome = await service.confirm(fields.token ?? queryParam(event, 'token'));
        if (outcome.kind === 'invalid-token') return fail(event, 400, 'Link not valid', tokenMessage(outcome.reason), `${outcome.reason} token`);
        if (outcome.kind === 'not-pending') {
          return fail(event, 400, 'Link no longer valid', 'This subscription request is no longer open. Subscribe again to receive a new link.', 'not pending');
        }
        return page(event, 200, 'confirmed', { email: outcome.email }, { status: 'confirmed', email: outcome.email });
      },
    },

    '/unsubscribe': {
      GET: async (event) => {
        const token = queryParam(event, 'token');
        const result = await service.inspect(token, 'unsubscribe');
        if (!result.ok) return fail(event, 400, 'Link not valid', tokenMessage(result.reason), `${result.reason} token`);
        return page(event, 200, 'unsubscribe', { email: result.claims.email, token }, { status: 'subscribed', email: result.claims.email });
      },
      // Our own form posts the token as a field; RFC 8058 one-click posts `List-Unsubscribe=One-Click` to the
      // URL from the List-Unsubscribe header, so the token is in the query string. Both answer 200, no redirect.
      POST: async (event) => {
        const fields = parseForm(event);
        const outcome = await service.unsubscribe(fields.token ?? queryParam(event, 'token'));
        if (outcome.kind === 'invalid-token') return fail(event, 400, 'Link not valid', tokenMessage(outcome.reason), `${outcome.reason} token`, false);
        return page(event, 200, 'unsubscribed', { email: outcome.email }, { status: 'unsubscribed', email: outcome.email });
      },
    },
  };
}

/** Build the Lambda handler. Client mistakes → 4xx with a plain message; upstream faults → 502, never a stack trace. */
export function createSubscribersHandler(deps: SubscribersHandlerDeps): HttpHandler {
  const routes = createSubscribersRoutes(deps);
  const logError = deps.logError ?? ((message, err) => console.error(message, err));
  return async (event) => {
    let result: HttpResult;
    let head = false;
    try {
      const found = route(routes, event);
      head = found.head;
      result = await found.handler(event);
    } catch (err) {
      if (err instanceof HttpError) {
        // Its message is the one the client gets: what was wrong (size, type, syntax, route), no field values.
        deps.log?.warn('request refused', { statusCode: err.statusCode, ...requestOf(event), reason: err.message });
        result = wantsJson(event)
          ? json(err.statusCode, { error: err.message }, err.headers)
          : html(err.statusCode, deps.renderPage('error', { title: titleFor(err.statusCode), message: err.message }), err.headers);
      } else {
        logError('subscribers handler fault', err, { statusCode: 502, ...requestOf(event) });
        const message = 'The service is temporarily unavailable. Please try again in a few minutes.';
        result = wantsJson(event)
          ? json(502, { error: message })
          : html(502, deps.renderPage('error', { title: 'Temporarily unavailable', message }));
      }
    }
    return head ? { ...result, body: '' } : result;
  };
}

function titleFor(status: number): string {
  switch (status) {
    case 404: return 'Page not found';
    case 405: return 'Method not allowed';
    case 413: return 'Request too large';
    case 415: return 'Unsupported form encoding';
    default: return 'Request not valid';
  }
}

/**
 * Everything needed to serve the subscribers API, whatever the runtime (Lambda, local server, tests). `welcome`
 * (the welcome email's loader, `loadWelcomeEmail` from http/welcome-email.ts) is sent once on confirmation.
 */
export interface SubscribersAppOptions extends Omit<SubscriberServiceDeps, 'renderConfirmation' | 'logError'> {
  /** Shown on pages and in the confirmation email; defaults to the SENDER's display name. */
  newsletterName?: string;
  templatesDir?: string;
  logError?: SubscribersHandlerDeps['logError'];
  log?: SubscribersHandlerDeps['log'];
}


/** Wire the service, the templates and the routes into one handler. */
export function buildSubscribersHandler(options: SubscribersAppOptions): HttpHandler {
  const { newsletterName = displayName(options.sender), templatesDir, logError, log, ...serviceDeps } = options;
  const service = createSubscriberService({
    ...serviceDeps,
    ...(logError ? { logError } : {}),
    renderConfirmation: createConfirmationRenderer({ newsletterName }, templatesDir),
  });
  return createSubscribersHandler({
    service,
    renderPage: createPageRenderer({ newsletterName }, templatesDir),
    ...(logError ? { logError } : {}),
    ...(log ? { log } : {}),
  });
}
