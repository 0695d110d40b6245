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

/** Checks records against DNS; the verifier depends on this, so tests can count or stub checks. */
export interface RecordChecker {
  /** One result per record, in the records' order. Never rejects: failures read `pending`. */
  check(records: readonly ExpectedRecord[]): Promise<RecordCheck[]>;
}

export interface DnsCheckerOptions {
  /** `host[:port]` of each server (`NUMONIC_DNS_SERVERS`); the system's resolvers when unset. */
  servers?: readonly string[] | undefined;
  /** The longest one record's lookup may take (`NUMONIC_DNS_TIMEOUT_MS`). */
  timeoutMs: number;
}

const TRIES = 2;

/**
 * Checks records with a `node:dns` `Resolver`: TXT through `resolveTxt` (each record's
 * character-strings joined), CNAME through `resolveCname`. A record is `verified` when DNS answers
 * the expected value among its answers, `mismatch` (with `found`, every value answered) when DNS
 * answers only other values, and `pending` when it answers nothing: NXDOMAIN, NODATA, a timeout or
 * a failing server.
 *
 * CNAME targets are names, compared without case and without a trailing dot. TXT values are
 * compared exactly: the SES token is base64, where case matters, and SES compares it exactly too.
 *
 * @example
 * const checker = new DnsChecker({ servers: ['127.0.0.1:5353'], timeoutMs: 2000 });
 * const [txt] = await checker.check([{ type: 'TXT', name: '_amazonses.shop.com', value: token }]);
 * // txt.status: 'verified' | 'pending' | 'mismatch'
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

  check(records: readonly ExpectedRecord[]): Promise<RecordCheck[]> {
    return Promise.all(records.map((record) => this.checkOne(record)));
  }

  private async checkOne(record: ExpectedRecord): Promise<RecordCheck> {
    const answers = await this.lookup(record);
    if (answers.length === 0) {
      return { status: 'pending' };
    }

    const expected = comparable(record.type, record.value);
    if (answers.some((answer) => comparable(record.type, answer) === expected)) {
      return { status: 'verified' };
    }
    return { status: 'mismatch', found: answers };
  }

  /** What DNS answers for the record's name and type; nothing when it cannot say. */
  private async lookup(record: ExpectedRecord): Promise<string[]> {
    const query =
      record.type === 'TXT'
        ? this.resolver
            .resolveTxt(record.name)
            .then((answers) => answers.map((strings) => strings.join('')))
        : this.resolver.resolveCname(record.name);

    // Every failure is "not published yet" from the customer's side: NXDOMAIN and NODATA are,
    // and a timeout or a failing server proves nothing either way, so the next check decides.
    try {
      return (await withDeadline(query, this.timeoutMs)) ?? [];
    } catch {
      return [];
    }
  }
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
