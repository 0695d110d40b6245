import { randomUUID } from 'node:crypto';

import type { Request, RequestHandler } from 'express';

import type { Logger } from './logger';

const REQUEST_ID = /^[A-Za-z0-9._-]{1,64}$/;

/** A route's full pattern (`/api/v1/domains/:id`), without a trailing slash. */
function patternOf(baseUrl: string, route: { path: unknown }): string {
  const pattern = `${baseUrl}${String(route.path)}`;
  return pattern.length > 1 ? pattern.replace(/\/$/, '') : pattern;
}

/**
 * Notes the route pattern the moment the router matches a route, the only time `req.baseUrl` is
 * sure to hold the route's mount path: a router puts its parent's `baseUrl` back when an error
 * leaves it, so read when the response closes, a failed `/api/v1/domains/:id` would show as `/:id`.
 * Returns the pattern noted so far; null while no route matched.
 */
function watchRoute(req: Request): () => string | null {
  let route: unknown;
  let pattern: string | null = null;
  Object.defineProperty(req, 'route', {
    configurable: true,
    enumerable: true,
    get: () => route,
    set(value: { path: unknown } | undefined) {
      route = value;
      pattern = value === undefined ? null : patternOf(req.baseUrl, value);
    },
  });

  return () => pattern;
}

/**
 * One log line per request, written when the response is done: answered, or abandoned by a client
 * that closed its connection first (`aborted: true`, with the status the answer would have had).
 * The fields are an allow-list: never the headers (they carry the bearer token), never the body.
 */
export function requestLog(logger: Logger): RequestHandler {
  return (req, res, next) => {
    const started = process.hrtime.bigint();
    const routeOf = watchRoute(req);
    const incoming = req.get('x-request-id');
    const requestId = incoming !== undefined && REQUEST_ID.test(incoming) ? incoming : randomUUID();
    res.locals.requestId = requestId;
    res.set('X-Request-Id', requestId);

    res.on('close', () => {
      if (!logger.isLevelEnabled('info')) {
        return;
      }
      logger.info({
        request_id: requestId,
        method: req.method,
        route: routeOf(),
        status: res.statusCode,
        duration_ms: Number(process.hrtime.bigint() - started) / 1e6,
        tenant_id: res.locals.tenantId,
        error_code: res.locals.errorCode,
        ...(res.writableFinished ? {} : { aborted: true }),
      });
    });
    next();
  };
}
