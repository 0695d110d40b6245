import { randomUUID } from 'node:crypto';

import type { Request, RequestHandler } from 'express';

import type { Logger } from './logger';

const REQUEST_ID = /^[A-Za-z0-9._-]{1,64}$/;

/** The matched route pattern (`/api/v1/domains/:id`), never the path with its ids; null if none. */
function routeOf(req: Request): string | null {
  if (req.route === undefined) {
    return null;
  }
  const pattern = `${req.baseUrl}${String(req.route.path)}`;
  return pattern.length > 1 ? pattern.replace(/\/$/, '') : pattern;
}

/**
 * One log line per request, written when the response is done: answered, or abandoned by a client
 * that closed its connection first (`aborted: true`, with the status the answer would have had).
 * The fields are an allow-list: never the headers (they carry the bearer token), never the body.
 */
export function requestLog(logger: Logger): RequestHandler {
  return (req, res, next) => {
    const started = process.hrtime.bigint();
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
        route: routeOf(req),
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
