import { pino, type Logger } from 'pino';

export type { Logger };

/**
 * Structured JSON logs on stdout. Log objects are built from allow-lists at each call site, and the
 * redaction below is a second line of defence should a request or its headers ever be logged whole.
 */
export function createLogger(level: string): Logger {
  return pino({
    level,
    base: undefined,
    redact: {
      paths: [
        'authorization',
        'headers.authorization',
        'req.headers.authorization',
        'token',
        '*.token',
      ],
      censor: '[redacted]',
    },
  });
}
