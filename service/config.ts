import { isIP } from 'node:net';

import { z } from 'zod';

// Configuration is read from the environment once, at start-up, and nowhere else. Every bad or
// missing variable is reported together so an operator fixes them in one go. The AWS SDK reads its
// own variables (AWS_REGION, AWS_ENDPOINT_URL_*, credentials) through its default chain.

const optionalText = z
  .string()
  .trim()
  .transform((value) => (value === '' ? undefined : value))
  .optional();

/** A number variable; set but empty counts as unset, where coercion alone would read it as 0. */
const number = <T extends z.ZodType>(schema: T) =>
  z.preprocess(
    (value) => (typeof value === 'string' && value.trim() === '' ? undefined : value),
    schema,
  );

const integer = (fallback: number, min: number, max: number) =>
  number(z.coerce.number().int().min(min).max(max).default(fallback));

/**
 * `ip`, `ip:port` or `[ipv6]:port`, port 1-65535: the resolver (c-ares) takes addresses, never
 * host names, and aborts the process on port 0 rather than failing.
 */
const dnsServer = z.string().refine((server) => {
  if (isIP(server) !== 0) return true;

  const withPort = /^(?:\[(.+)\]|([^:]+)):(\d{1,5})$/.exec(server);
  if (withPort === null) return false;
  const [, ipv6, ipv4, port] = withPort;
  const validPort = Number(port) >= 1 && Number(port) <= 65535;
  return validPort && (ipv6 === undefined ? isIP(ipv4 ?? '') === 4 : isIP(ipv6) === 6);
}, 'expected ip, ip:port or [ipv6]:port with a port from 1 to 65535 (an address, not a host name)');

const envSchema = z.object({
  NODE_ENV: optionalText,
  PORT: integer(3000, 0, 65535),
  HOST: z.string().trim().min(1).default('127.0.0.1'),
  NUMONIC_DATA_FILE: z.string().trim().min(1).default('./data/numonic.json'),
  NUMONIC_JWT_SECRET: optionalText.refine(
    (value) => value === undefined || Buffer.byteLength(value) >= 32,
    'must be at least 32 bytes',
  ),
  NUMONIC_JWKS_URL: optionalText.pipe(z.url({ protocol: /^https?$/ }).optional()),
  NUMONIC_JWT_ISSUER: optionalText,
  NUMONIC_JWT_AUDIENCE: optionalText,
  NUMONIC_SES_MODE: optionalText.pipe(z.enum(['simulated', 'aws']).optional()),
  AWS_REGION: optionalText,
  NUMONIC_CONFIGURATION_SET: z
    .string()
    .trim()
    .regex(/^[a-zA-Z0-9_-]{1,64}$/, 'letters, digits, _ and -, at most 64 characters')
    .default('numonic-emails'),
  NUMONIC_DNS_SERVERS: optionalText.pipe(
    z
      .string()
      .transform((value) => value.split(',').map((server) => server.trim()))
      .pipe(z.array(dnsServer))
      .optional(),
  ),
  NUMONIC_DNS_TIMEOUT_MS: integer(2000, 100, 60_000),
  NUMONIC_RATE_LIMIT_PER_MINUTE: integer(1200, 0, 10_000_000),
  NUMONIC_VERIFY_PER_MINUTE: integer(10, 1, 10_000),
  NUMONIC_SIMULATED_SES_DELAY_MS: integer(0, 0, 60_000),
  NUMONIC_SES_TIMEOUT_MS: integer(5000, 100, 120_000),
  NUMONIC_SES_MAX_ATTEMPTS: integer(4, 1, 10),
  NUMONIC_ORPHAN_RETRY_SECONDS: integer(60, 1, 86_400),
  NUMONIC_RECONCILE_PER_SECOND: number(z.coerce.number().positive().max(1000).default(1)),
  NUMONIC_RECONCILE_CONCURRENCY: integer(2, 1, 64),
  LOG_LEVEL: z.enum(['silent', 'fatal', 'error', 'warn', 'info', 'debug', 'trace']).default('info'),
});

export type SesMode = 'simulated' | 'aws';

export interface Config {
  production: boolean;
  port: number;
  host: string;
  dataFile: string;
  jwt: {
    /** HS256 secret; when unset and no JWKS is configured, the server generates a dev secret. */
    secret: string | undefined;
    jwksUrl: string | undefined;
    issuer: string | undefined;
    audience: string | undefined;
  };
  ses: {
    mode: SesMode;
    /** False when `NUMONIC_SES_MODE` was left unset and `simulated` was assumed. */
    modeExplicit: boolean;
    region: string;
    configurationSet: string;
    simulatedDelayMs: number;
    timeoutMs: number;
    maxAttempts: number;
    orphanRetrySeconds: number;
  };
  dns: { servers: string[] | undefined; timeoutMs: number };
  rateLimitPerMinute: number;
  verifyPerMinute: number;
  reconcile: { perSecond: number; concurrency: number };
  logLevel: z.infer<typeof envSchema>['LOG_LEVEL'];
}

/** Thrown when the environment is unusable; its message names every variable at fault. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((problem) => `  - ${problem}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** Parses the service configuration from an environment (normally `process.env`). */
export function loadConfig(env: NodeJS.ProcessEnv): Config {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`),
    );
  }

  const vars = parsed.data;
  const production = vars.NODE_ENV === 'production';
  const problems: string[] = [];
  if (production && vars.NUMONIC_JWT_SECRET === undefined && vars.NUMONIC_JWKS_URL === undefined) {
    problems.push(
      'NUMONIC_JWT_SECRET: required with NODE_ENV=production (or set NUMONIC_JWKS_URL); a generated dev secret is refused',
    );
  }
  if (
    production &&
    vars.NUMONIC_JWKS_URL !== undefined &&
    !isTrustedKeyUrl(vars.NUMONIC_JWKS_URL)
  ) {
    problems.push(
      'NUMONIC_JWKS_URL: must be https with NODE_ENV=production (plain http only on loopback), or anyone on the path could serve their own keys',
    );
  }
  if (production && vars.NUMONIC_SES_MODE === undefined) {
    problems.push(
      'NUMONIC_SES_MODE: required with NODE_ENV=production; set it to "aws" (or "simulated" explicitly)',
    );
  }
  if (problems.length > 0) {
    throw new ConfigError(problems);
  }

  return {
    production,
    port: vars.PORT,
    host: vars.HOST,
    dataFile: vars.NUMONIC_DATA_FILE,
    jwt: {
      secret: vars.NUMONIC_JWT_SECRET,
      jwksUrl: vars.NUMONIC_JWKS_URL,
      issuer: vars.NUMONIC_JWT_ISSUER,
      audience: vars.NUMONIC_JWT_AUDIENCE,
    },
    ses: {
      mode: vars.NUMONIC_SES_MODE ?? 'simulated',
      modeExplicit: vars.NUMONIC_SES_MODE !== undefined,
      region: vars.AWS_REGION ?? 'us-east-1',
      configurationSet: vars.NUMONIC_CONFIGURATION_SET,
      simulatedDelayMs: vars.NUMONIC_SIMULATED_SES_DELAY_MS,
      timeoutMs: vars.NUMONIC_SES_TIMEOUT_MS,
      maxAttempts: vars.NUMONIC_SES_MAX_ATTEMPTS,
      orphanRetrySeconds: vars.NUMONIC_ORPHAN_RETRY_SECONDS,
    },
    dns: { servers: vars.NUMONIC_DNS_SERVERS, timeoutMs: vars.NUMONIC_DNS_TIMEOUT_MS },
    rateLimitPerMinute: vars.NUMONIC_RATE_LIMIT_PER_MINUTE,
    verifyPerMinute: vars.NUMONIC_VERIFY_PER_MINUTE,
    reconcile: {
      perSecond: vars.NUMONIC_RECONCILE_PER_SECOND,
      concurrency: vars.NUMONIC_RECONCILE_CONCURRENCY,
    },
    logLevel: vars.LOG_LEVEL,
  };
}

/** https, or http to a loopback address (a key server beside the service). */
function isTrustedKeyUrl(value: string): boolean {
  const url = new URL(value);
  const host = url.hostname.replace(/^\[|\]$/g, '');
  return url.protocol === 'https:' || host === 'localhost' || host === '::1' || /^127\./.test(host);
}
