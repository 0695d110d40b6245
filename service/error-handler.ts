import type { ErrorRequestHandler, RequestHandler } from 'express';
import { ZodError } from 'zod';

import { ApiError, isApiError } from './errors';
import type { Logger } from './logger';
import type { ErrorBody } from './schemas';

/** Turns any failure into an `ApiError`: ours as they are, zod's and body-parser's by kind. */
export function toApiError(error: unknown): ApiError {
  if (isApiError(error)) {
    return error;
  }
  if (error instanceof ZodError) {
    return new ApiError('VALIDATION_ERROR', 'The request body does not match the schema.', {
      details: error.issues.flatMap((issue) => {
        // One detail per unknown field, named, rather than one nameless "unrecognized keys".
        const paths =
          issue.code === 'unrecognized_keys'
            ? issue.keys.map((key) => [...issue.path, key])
            : [issue.path];
        return paths.map((path) => ({
          path: path.map(String).join('.') || 'body',
          message: issue.code === 'unrecognized_keys' ? 'Unknown field.' : issue.message,
        }));
      }),
    });
  }

  // The router could not percent-decode a path parameter (`/api/v1/domains/%E0`): no such domain.
  if (error instanceof URIError) {
    return new ApiError('NOT_FOUND', 'No domain has this id.');
  }

  // body-parser marks its errors with a `type` and a 4xx `status`.
  const parserError = error as { type?: unknown; status?: unknown };
  if (parserError.type === 'entity.too.large') {
    return new ApiError('PAYLOAD_TOO_LARGE', 'The request body is larger than 16 KiB.');
  }
  if (parserError.type === 'entity.parse.failed') {
    return new ApiError('BAD_REQUEST', 'The request body is not valid JSON.');
  }
  if (
    typeof parserError.type === 'string' &&
    typeof parserError.status === 'number' &&
    parserError.status >= 400 &&
    parserError.status < 500
  ) {
    return new ApiError('BAD_REQUEST', 'The request body could not be read.');
  }

  return new ApiError('INTERNAL_ERROR', 'Something went wrong on our side.', { cause: error });
}

/** The one place an error becomes the contract's body. 5xx are logged with their stack. */
export function errorHandler(logger: Logger): ErrorRequestHandler {
  return (error, req, res, next) => {
    if (res.headersSent) {
      next(error);
      return;
    }

    const apiError = toApiError(error);
    res.locals.errorCode = apiError.code;
    if (apiError.code === 'INTERNAL_ERROR') {
      logger.error({ err: error, request_id: res.locals.requestId }, 'unhandled error');
    }

    if (apiError.code === 'UNAUTHORIZED') {
      res.set('WWW-Authenticate', 'Bearer realm="numonic"');
    }
    if (apiError.retryAfter !== undefined) {
      res.set('Retry-After', String(apiError.retryAfter));
    }
    const body: ErrorBody = {
      error: {
        code: apiError.code,
        message: apiError.message,
        ...(apiError.details === undefined ? {} : { details: apiError.details }),
      },
    };
    res.status(apiError.status).json(body);
  };
}

/** The last route: anything unmatched is a 404 in the contract's body. */
export const notFound: RequestHandler = (req) => {
  throw new ApiError('NOT_FOUND', `No route for ${req.method} ${req.path}.`);
};
