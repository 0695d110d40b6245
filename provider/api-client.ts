// The HTTP client the providers use to reach the Numonic API.
//
// It runs in the Pulumi provider process, from the provider text Pulumi serializes into state: it
// uses nothing but the global `fetch`, keeps no state and no constants at module level, and
// imports nothing. Pulumi prints its error messages to the user and the engine may log them, so
// they carry the service's code and message, never the token, and never a `cause` (a fetch
// failure's cause can hold request details).

/**
 * What went wrong: one of the service's error codes, or one the provider assigns when no answer
 * from the service says it: `TIMEOUT`, `NETWORK_ERROR` and `UNEXPECTED_RESPONSE` for the request
 * itself, `INVALID_CONFIGURATION` for missing or bad credentials, `VERIFICATION_FAILED` and
 * `VERIFICATION_TIMEOUT` for a domain that did not verify.
 *
 * @example
 * const retryable: NumonicApiErrorCode[] = ['RATE_LIMITED', 'UPSTREAM_UNAVAILABLE'];
 */
export type NumonicApiErrorCode =
  | 'BAD_REQUEST'
  | 'UNAUTHORIZED'
  | 'NOT_FOUND'
  | 'CONFLICT'
  | 'PAYLOAD_TOO_LARGE'
  | 'VALIDATION_ERROR'
  | 'RATE_LIMITED'
  | 'INTERNAL_ERROR'
  | 'UPSTREAM_UNAVAILABLE'
  | 'TIMEOUT'
  | 'NETWORK_ERROR'
  | 'UNEXPECTED_RESPONSE'
  | 'INVALID_CONFIGURATION'
  | 'VERIFICATION_FAILED'
  | 'VERIFICATION_TIMEOUT';

/**
 * One item of a `VALIDATION_ERROR`'s `details`.
 *
 * @example
 * const detail: NumonicApiErrorDetail = { path: 'domain_name', message: 'is a public suffix' };
 */
export interface NumonicApiErrorDetail {
  path: string;
  message: string;
}

/**
 * A failed call to the Numonic API, or a provider that cannot make one. The message names the
 * request, the status, the code and the service's message; it never contains the token.
 *
 * It is an interface over a plain `Error`, made by {@link numonicApiError}, and not a subclass:
 * Pulumi's serializer rewrites a class's `super(message)` into `Error.call(this, message)`, which
 * leaves the instance without a message, so a subclass of `Error` loses its text once it runs from
 * the provider text.
 *
 * @example
 * try {
 *   await requestJson(target, 'GET', '/api/v1/domains/42');
 * } catch (error) {
 *   if (isNumonicApiError(error) && error.code === 'NOT_FOUND') {
 *     // the domain is gone
 *   }
 * }
 */
export interface NumonicApiError extends Error {
  name: 'NumonicApiError';
  /** The service's `error.code`, or the provider's own code when the service did not answer. */
  code: NumonicApiErrorCode;
  /** The HTTP status, when the service answered. */
  status: number | undefined;
  /** The service's validation details, when it sent any. */
  details: NumonicApiErrorDetail[];
}

/**
 * Makes a {@link NumonicApiError}: a real `Error`, with its stack, carrying `code`, `status`
 * and `details`.
 *
 * @example
 * throw numonicApiError('NOT_FOUND', 'Domain 42 no longer exists in Numonic.', 404);
 */
export function numonicApiError(
  code: NumonicApiErrorCode,
  message: string,
  status?: number,
  details: NumonicApiErrorDetail[] = [],
): NumonicApiError {
  const error = new Error(message) as NumonicApiError;
  error.name = 'NumonicApiError';
  error.code = code;
  error.status = status;
  error.details = details;
  return error;
}

/**
 * True for an error made by {@link numonicApiError}.
 *
 * @example
 * if (isNumonicApiError(error) && error.code === 'CONFLICT') { ... }
 */
export function isNumonicApiError(error: unknown): error is NumonicApiError {
  return error instanceof Error && error.name === 'NumonicApiError';
}

/**
 * Where to send a request, and as whom.
 *
 * @example
 * const target: ApiTarget = { apiUrl: 'https://api.numonic.com', apiToken: token };
 */
export interface ApiTarget {
  /** The service's base URL, e.g. `https://api.numonic.com`; a path prefix is kept. */
  apiUrl: string;
  /** The bearer JWT. */
  apiToken: string;
}

/**
 * How one call behaves; every field has a default suited to `pulumi up`.
 *
 * @example
 * const once: RequestOptions = { maxAttempts: 1, timeoutMs: 5_000 };
 */
export interface RequestOptions {
  /** A value sent as the JSON body. */
  body?: unknown;
  /** Time allowed for each attempt, answer included, in milliseconds. Default 30 000. */
  timeoutMs?: number;
  /** Attempts in all, the first included. Default 4. */
  maxAttempts?: number;
  /** The first backoff delay in milliseconds; it doubles each retry. Default 500. */
  baseDelayMs?: number;
  /** The longest wait between attempts, `Retry-After` included, in milliseconds. Default 30 000. */
  maxDelayMs?: number;
}

/**
 * Sends one request and returns the parsed JSON body of a 2xx answer.
 *
 * Retries, with exponential backoff and jitter, on 429 (waiting at least `Retry-After`), on 503,
 * and on network failures; timeouts and broken connections are retried only for `GET` and
 * `DELETE`, because a `POST` that may have reached the service must not be sent twice.
 *
 * @example
 * const domain = await requestJson<{ domain_id: number }>(
 *   { apiUrl: 'http://127.0.0.1:3000', apiToken: token },
 *   'POST',
 *   '/api/v1/domains',
 *   { body: { domain_name: 'yourapp.com' } },
 * );
 */
export async function requestJson<T>(
  target: ApiTarget,
  method: 'GET' | 'POST' | 'DELETE',
  path: string,
  options: RequestOptions = {},
): Promise<T> {
  const maxAttempts = Math.max(1, Math.floor(options.maxAttempts ?? 4));
  const baseDelayMs = options.baseDelayMs ?? 500;
  const maxDelayMs = options.maxDelayMs ?? 30_000;

  for (let attempt = 1; ; attempt += 1) {
    const outcome = await attemptRequest(target, method, path, options);
    if (outcome.ok) {
      return outcome.body as T;
    }
    if (!outcome.retry || attempt >= maxAttempts) {
      throw outcome.error;
    }

    const backoff = Math.min(maxDelayMs, baseDelayMs * 2 ** (attempt - 1));
    const jittered = backoff / 2 + (Math.random() * backoff) / 2;
    const wait = Math.min(maxDelayMs, Math.max(jittered, outcome.retryAfterMs ?? 0));
    await new Promise((resolve) => setTimeout(resolve, wait));
  }
}

type Attempt =
  | { ok: true; body: unknown }
  | { ok: false; error: NumonicApiError; retry: boolean; retryAfterMs?: number };

async function attemptRequest(
  target: ApiTarget,
  method: string,
  path: string,
  options: RequestOptions,
): Promise<Attempt> {
  const request = `${method} ${path}`;
  const idempotent = method !== 'POST';
  const headers: Record<string, string> = {
    accept: 'application/json',
    authorization: `Bearer ${target.apiToken}`,
  };
  if (options.body !== undefined) {
    headers['content-type'] = 'application/json';
  }

  let status: number;
  let text: string;
  let retryAfter: string | null;
  try {
    const response = await fetch(`${target.apiUrl.replace(/\/+$/, '')}${path}`, {
      method,
      headers,
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
      signal: AbortSignal.timeout(options.timeoutMs ?? 30_000),
    });
    status = response.status;
    retryAfter = response.headers.get('retry-after');
    text = await response.text();
  } catch (error) {
    return transportFailure(error, request, target, idempotent);
  }

  if (status >= 200 && status < 300) {
    try {
      return { ok: true, body: text === '' ? undefined : JSON.parse(text) };
    } catch {
      const message = `Numonic API ${request} answered ${status} with a body that is not JSON.`;
      const error = numonicApiError('UNEXPECTED_RESPONSE', message, status);
      return { ok: false, error, retry: false };
    }
  }

  const error = serviceError(status, text, request, target.apiToken);
  return {
    ok: false,
    error,
    retry: status === 429 || status === 503,
    retryAfterMs: parseRetryAfter(retryAfter),
  };
}

function serviceError(
  status: number,
  text: string,
  request: string,
  token: string,
): NumonicApiError {
  const known = [
    'BAD_REQUEST',
    'UNAUTHORIZED',
    'NOT_FOUND',
    'CONFLICT',
    'PAYLOAD_TOO_LARGE',
    'VALIDATION_ERROR',
    'RATE_LIMITED',
    'INTERNAL_ERROR',
    'UPSTREAM_UNAVAILABLE',
  ];
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }

  const error = (body as { error?: unknown } | undefined)?.error as
    { code?: unknown; message?: unknown; details?: unknown } | undefined;
  const sentCode = typeof error?.code === 'string' ? error.code : undefined;
  const sentMessage = typeof error?.message === 'string' ? error.message : undefined;
  const details = Array.isArray(error?.details)
    ? error.details
        .filter((item): item is NumonicApiErrorDetail => {
          const detail = item as Partial<NumonicApiErrorDetail> | null;
          return typeof detail?.path === 'string' && typeof detail.message === 'string';
        })
        .map((item) => ({ path: item.path, message: item.message }))
    : [];

  const code = (
    sentCode !== undefined && known.includes(sentCode) ? sentCode : 'UNEXPECTED_RESPONSE'
  ) as NumonicApiErrorCode;
  const label = sentCode ?? 'no error code';
  const reason = sentMessage ?? 'the answer carried no error message.';
  const detailText = details.map((detail) => ` ${detail.path}: ${detail.message}`).join(';');
  const message = `Numonic API ${request} failed with ${status} ${label}: ${reason}${detailText}`;
  return numonicApiError(code, redact(message, token), status, details);
}

function transportFailure(
  error: unknown,
  request: string,
  target: ApiTarget,
  idempotent: boolean,
): Attempt {
  // The origin only: the rest of the URL is the request, already named, and userinfo is refused
  // when credentials are resolved.
  let origin = 'the Numonic API';
  try {
    origin = new URL(target.apiUrl).origin;
  } catch {
    // keep the generic name; an unparsable URL was refused before any request was sent
  }

  const name = (error as { name?: unknown } | null)?.name;
  if (name === 'TimeoutError' || name === 'AbortError') {
    const message = `Numonic API ${request} timed out waiting for ${origin}.`;
    return { ok: false, error: numonicApiError('TIMEOUT', message), retry: idempotent };
  }

  // Refused connections and failed name lookups mean the request never left: safe to repeat.
  const cause = (error as { cause?: { code?: unknown } } | null)?.cause;
  const causeCode = typeof cause?.code === 'string' ? cause.code : undefined;
  const neverSent = ['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN'].includes(causeCode ?? '');
  const because = causeCode === undefined ? '' : ` (${causeCode})`;
  const message = `Numonic API ${request} could not reach ${origin}${because}.`;
  return {
    ok: false,
    error: numonicApiError('NETWORK_ERROR', redact(message, target.apiToken)),
    retry: neverSent || idempotent,
  };
}

function redact(text: string, token: string): string {
  return token === '' ? text : text.split(token).join('[redacted]');
}

function parseRetryAfter(header: string | null): number | undefined {
  if (header === null || header.trim() === '') {
    return undefined;
  }
  if (/^\d+$/.test(header.trim())) {
    return Number(header.trim()) * 1000;
  }
  const date = Date.parse(header);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}
