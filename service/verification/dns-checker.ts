// The service's own look at a domain's DNS records, through node's c-ares `Resolver` (not the
// operating system's `getaddrinfo`, which knows nothing of TXT or CNAME and cannot be pointed at
// other servers).
//
// c-ares waits `timeout` for the first try and doubles the wait on each later round, so two tries
// against one server take up to three timeouts; a deadline on every lookup keeps the whole check
// within `timeoutMs` however many servers are configured. A lookup the deadline abandons still
// completes inside c-ares later, unobserved.

import { Resolver } from 'node:dns/promises';

import type { RecordCheck } from '../store/store';

/** A record the customer was asked to publish: what `dns_records` lists. */
export interface ExpectedRecord {
  type: 'TXT' | 'CNAME';
  name: string;
  value: string;
}

/** What one look at a domain's records found. */
export interface RecordChecks {
  /** One result per record, in the records' order. */
  checks: RecordCheck[];
  /**
   * False when a lookup got no answer from DNS (a timeout, a failing or refusing server): its
   * record reads `pending`, but that proves nothing, so no decision may rest on it.
   */
  answered: boolean;
}

/** Checks records against DNS; the verifier depends on this, so tests can count or stub checks. */
export interface RecordChecker {
  /** Never rejects: a lookup that fails reads `pending`, with `answered` false. */
  check(records: readonly ExpectedRecord[]): Promise<RecordChecks>;
}

export interface DnsCheckerOptions {
  /** `host[:port]` of each server (`NUMONIC_DNS_SERVERS`); the system's resolvers when unset. */
  servers?: readonly string[] | undefined;
  /** The longest one record's lookup may take (`NUMONIC_DNS_TIMEOUT_MS`). */
  timeoutMs: number;
}

const TRIES = 2;

/** The answers that say a record is not there: NXDOMAIN, and a name without that type (NODATA). */
const NOT_PUBLISHED: ReadonlySet<unknown> = new Set(['ENOTFOUND', 'ENODATA']);

/**
 * Checks records with a `node:dns` `Resolver`: TXT through `resolveTxt` (each record's
 * character-strings joined), CNAME through `resolveCname`. A record is `verified` when DNS answers
 * the expected value among its answers, `mismatch` (with `found`, every value answered) when DNS
 * answers only other values, and `pending` when it answers nothing: NXDOMAIN, NODATA, a timeout or
 * a failing server. The last two are not answers, and `answered` says so.
 *
 * CNAME targets are names, compared without case and without a trailing dot. TXT values are
 * compared exactly: the SES token is base64, where case matters, and SES compares it exactly too.
 *
 * @example
 * const checker = new DnsChecker({ servers: ['127.0.0.1:5353'], timeoutMs: 2000 });
 * const { checks, answered } = await checker.check([
 *   { type: 'TXT', name: '_amazonses.shop.com', value: token },
 * ]);
 * // checks[0].status: 'verified' | 'pending' | 'mismatch'
 */
export class DnsChecker implements RecordChecker {
  private readonly resolver: Resolver;
  private readonly timeoutMs: number;

  /** `servers` are addresses, as `loadConfig` checked them (c-ares takes no host names). */
  constructor(options: DnsCheckerOptions) {
    this.timeoutMs = options.timeoutMs;
    this.resolver = new Resolver({
      timeout: Math.max(1, Math.floor(options.timeoutMs / (2 ** TRIES - 1))),
      tries: TRIES,
    });

    if (options.servers !== undefined) {
      this.resolver.setServers([...options.servers]);
    }
  }

  async check(records: readonly ExpectedRecord[]): Promise<RecordChecks> {
    const answers = await Promise.all(records.map((record) => this.lookup(record)));

    return {
      checks: records.map((record, index) => compare(record, answers[index])),
      answered: answers.every((found) => found !== undefined),
    };
  }

  /**
   * What DNS answers for the record's name and type: empty when it says there is none, undefined
   * when it gives no answer in time or its server fails.
   */
  private async lookup(record: ExpectedRecord): Promise<string[] | undefined> {
    const query =
      record.type === 'TXT'
        ? this.resolver
            .resolveTxt(record.name)
            .then((answers) => answers.map((strings) => strings.join('')))
        : this.resolver.resolveCname(record.name);

    try {
      return await withDeadline(query, this.timeoutMs);
    } catch (error) {
      return NOT_PUBLISHED.has((error as NodeJS.ErrnoException).code) ? [] : undefined;
    }
  }
}

/** The record's status given what DNS answered for it (undefined: no answer). */
function compare(record: ExpectedRecord, answers: string[] | undefined): RecordCheck {
  if (answers === undefined || answers.length === 0) {
    return { status: 'pending' };
  }

  const expected = comparable(record.type, record.value);
  if (answers.some((answer) => comparable(record.type, answer) === expected)) {
    return { status: 'verified' };
  }
  return { status: 'mismatch', found: answers };
}

function comparable(type: ExpectedRecord['type'], value: string): string {
  return type === 'CNAME' ? value.trim().replace(/\.$/, '').toLowerCase() : value;
}

/** `promise`'s value, or undefined once `ms` have passed without one. */
async function withDeadline<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<undefined>((resolve) => {
    timer = setTimeout(resolve, ms, undefined);
  });

  try {
    return await Promise.race([promise, expired]);
  } finally {
    clearTimeout(timer);
  }
}
