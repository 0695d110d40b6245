import type { Clock } from '../clock';
import { KeyedMutex } from '../domains/keyed-mutex';
import { dnsRecordsOf } from '../domains/view';
import type { Logger } from '../logger';
import type { SesIdentities } from '../ses/identities';
import type {
  DomainPatch,
  DomainRecord,
  DomainStore,
  RecordCheck,
  VerificationStatus,
} from '../store/store';
import type { RecordChecker, RecordChecks } from './dns-checker';

/** How long a domain may stay unverified before it is `Failed`: SES's own window, 72 hours. */
export const VERIFICATION_WINDOW_MS = 72 * 60 * 60 * 1000;

export interface VerifierDeps {
  store: Pick<DomainStore, 'get' | 'update'>;
  ses: Pick<SesIdentities, 'mode' | 'status'>;
  dns: RecordChecker;
  clock: Clock;
  logger: Logger;
}

/**
 * One verification step for one domain, shared by the reconciler and verify-now: check each DNS
 * record, ask SES in `aws` mode, then store the per-record results, `checkedAt`, and the overall
 * status, logging a transition line `{domain_id, domain, from, to}` when the status moves.
 *
 * The overall status comes from SES in `aws` mode: SES decides whether an identity may send. In
 * `simulated` mode there is no SES to ask, so the DNS checks decide, as SES would: `Success` once
 * every record is verified, `Failed` when they are not all verified 72 hours after registration.
 * Once `Success`, a simulated domain stays so even if a record disappears (the record's own status
 * shows it); a `Failed` one becomes `Success` when a later check finds every record.
 *
 * Checks of one domain run one at a time, so the reconciler and verify-now never interleave
 * their writes. A domain deleted while its check runs stays deleted: the result is dropped.
 *
 * @example
 * const verifier = new Verifier({ store, ses, dns: new DnsChecker(config.dns), clock, logger });
 * const domain = await verifier.refresh(42); // undefined when domain 42 no longer exists
 */
export class Verifier {
  private readonly running = new KeyedMutex();

  constructor(private readonly deps: VerifierDeps) {}

  /**
   * Checks domain `id` now and stores the outcome. Resolves with the domain as stored, or
   * undefined when it does not exist (any more). Rejects when SES fails (an `ApiError`, in `aws`
   * mode) or the store cannot write; nothing is stored then.
   */
  refresh(id: number): Promise<DomainRecord | undefined> {
    return this.running.run(String(id), () => this.check(id));
  }

  private async check(id: number): Promise<DomainRecord | undefined> {
    const { store, ses, dns, clock, logger } = this.deps;
    const domain = store.get(id);
    if (domain === undefined) {
      return undefined;
    }

    const [records, identity] = await Promise.all([
      dns.check(dnsRecordsOf(domain)),
      ses.mode === 'aws' ? ses.status(domain.name) : undefined,
    ]);

    // Read again: the domain may have been deleted while DNS and SES answered. There is no await
    // between this read and `update`, and `update` of a missing id stores nothing, so a deleted
    // domain is never written back.
    const current = store.get(id);
    if (current === undefined) {
      return undefined;
    }
    const now = clock.now();
    const from = current.verificationStatus;
    const to = identity?.verificationStatus ?? simulatedStatus(current, records, now);

    const updated = await store.update(id, statusPatch(current, to, records.checks, now));
    if (updated !== undefined && to !== from) {
      logger.info(
        { domain_id: id, domain: current.name, from, to },
        'domain verification status changed',
      );
    }
    return updated;
  }
}

/**
 * The overall status of a simulated domain, decided from its DNS records alone. A look at DNS
 * that went unanswered fails no domain: an outage of the resolvers at the 72-hour mark would
 * otherwise fail domains whose records are in place; the next answered check decides.
 */
export function simulatedStatus(
  domain: Pick<DomainRecord, 'verificationStatus' | 'createdAt'>,
  { checks, answered }: RecordChecks,
  now: number,
): VerificationStatus {
  if (checks.every((check) => check.status === 'verified')) {
    return 'Success';
  }
  if (domain.verificationStatus === 'Success') {
    return 'Success';
  }

  const age = now - Date.parse(domain.createdAt);
  if (age < VERIFICATION_WINDOW_MS) {
    return 'Pending';
  }
  return answered ? 'Failed' : domain.verificationStatus;
}

function statusPatch(
  domain: DomainRecord,
  to: VerificationStatus,
  recordChecks: RecordCheck[],
  now: number,
): DomainPatch {
  const at = new Date(now).toISOString();
  const patch: DomainPatch = { verificationStatus: to, checkedAt: at, recordChecks };
  if (to !== domain.verificationStatus || !sameChecks(domain.recordChecks, recordChecks)) {
    patch.updatedAt = at;
  }

  // `verified_at` says since when the domain is verified, so it is cleared when SES takes it back.
  if (to === 'Success' && domain.verificationStatus !== 'Success') {
    patch.verifiedAt = at;
  } else if (to !== 'Success') {
    patch.verifiedAt = undefined;
  }
  return patch;
}

function sameChecks(a: readonly RecordCheck[] | undefined, b: readonly RecordCheck[]): boolean {
  return JSON.stringify(a ?? []) === JSON.stringify(b);
}
