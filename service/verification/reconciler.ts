// The background loop that keeps `Pending` domains' statuses fresh.
//
// Two clocks: when a domain is due is business time, read from the injected `Clock` (tests move
// it); how fast checks start is read from the monotonic `performance.now()`, so the rate bound
// holds whatever the wall clock or a test clock does.
//
// Known limit: each start scans the pending domains to pick the most overdue one, so the cost of a
// start grows with the number of pending domains (about a millisecond per 100k); past a million
// pending domains, keep them in a queue ordered by due time instead.

import { performance } from 'node:perf_hooks';

import type { Clock } from '../clock';
import type { Logger } from '../logger';
import type { DomainRecord, DomainStore } from '../store/store';
import type { Verifier } from './verifier';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

/**
 * The time between two checks of a pending domain of age `ageMs`: a sixtieth of its age, at least a
 * minute and at most an hour. A new domain is checked every minute during its first hour, a
 * ten-hour-old one every ten minutes, and from 60 hours on every hour; about 320 checks over the
 * 72-hour window, most of them while the customer is still adding records.
 *
 * @example
 * checkInterval(5 * 60_000); // 60_000: every minute at five minutes old
 * checkInterval(10 * 3_600_000); // 600_000: every ten minutes at ten hours old
 */
export function checkInterval(ageMs: number): number {
  return Math.min(HOUR, Math.max(MINUTE, Math.round(ageMs / 60)));
}

export interface ReconcilerOptions {
  store: Pick<DomainStore, 'listPending'>;
  verifier: Pick<Verifier, 'refresh'>;
  clock: Clock;
  logger: Logger;
  /** Most checks started per second (`NUMONIC_RECONCILE_PER_SECOND`); starts are spaced evenly. */
  perSecond: number;
  /** Most checks in flight at once (`NUMONIC_RECONCILE_CONCURRENCY`). */
  concurrency: number;
  /** How often an idle reconciler looks for due domains: 1000 ms unless a test wants it sooner. */
  idleMs?: number;
}

/**
 * Refreshes each pending domain when it is due (see {@link checkInterval}), most overdue first,
 * starting at most `perSecond` checks a second, evenly spaced with no burst, and keeping at most
 * `concurrency` in flight, so SES's API limits hold however many domains wait. A domain is due one
 * interval after its last check (or its registration), so a restart does not check every domain
 * at once. A check that fails is logged and retried one interval later.
 *
 * @example
 * const { perSecond, concurrency } = config.reconcile;
 * const reconciler = new Reconciler({ store, verifier, clock, logger, perSecond, concurrency });
 * reconciler.start();
 * // on shutdown, before closing the store
 * await reconciler.stop();
 */
export class Reconciler {
  private readonly spacingMs: number;
  private readonly idleMs: number;
  private readonly inFlight = new Map<number, Promise<void>>();
  /** Business time of each domain's last started check, including ones that failed. */
  private readonly attempted = new Map<number, number>();
  private nextStartAt = 0;
  private timer: NodeJS.Timeout | undefined;
  private running = false;

  constructor(private readonly options: ReconcilerOptions) {
    this.spacingMs = 1000 / options.perSecond;
    this.idleMs = options.idleMs ?? 1000;
  }

  /** Starts the loop; its timers never keep the process alive. */
  start(): void {
    if (this.running) {
      return;
    }
    this.running = true;
    this.pump();
  }

  /** Starts no more checks and resolves once those in flight have finished. */
  async stop(): Promise<void> {
    this.running = false;
    clearTimeout(this.timer);
    this.timer = undefined;

    await Promise.all(this.inFlight.values());
  }

  /** Starts one check if the rate, the concurrency bound and a due domain allow, then re-arms. */
  private pump(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (!this.running) {
      return;
    }

    let wait = this.idleMs;
    const gap = this.nextStartAt - performance.now();
    if (gap > 0) {
      wait = gap;
    } else if (this.inFlight.size < this.options.concurrency) {
      const { due, nextDueIn } = this.mostOverdue();
      if (due !== undefined) {
        this.begin(due);
        wait = this.spacingMs;
      } else {
        wait = Math.min(this.idleMs, Math.max(1, nextDueIn));
      }
    }
    // With every slot taken, the next check to finish pumps again; the timer is only a backstop.

    this.timer = setTimeout(() => this.pump(), wait);
    this.timer.unref();
  }

  private begin(domain: DomainRecord): void {
    const { verifier, clock, logger } = this.options;
    this.attempted.set(domain.id, clock.now());
    this.nextStartAt = performance.now() + this.spacingMs;

    const check = verifier.refresh(domain.id).then(
      () => undefined,
      (error: unknown) => {
        logger.warn(
          { domain_id: domain.id, domain: domain.name, err: error },
          'domain verification check failed',
        );
      },
    );
    this.inFlight.set(
      domain.id,
      check.finally(() => {
        this.inFlight.delete(domain.id);
        this.pump();
      }),
    );
  }

  /** The pending domain most overdue now, else how long until the next one is due. */
  private mostOverdue(): { due: DomainRecord | undefined; nextDueIn: number } {
    const pending = this.options.store.listPending();
    const now = this.options.clock.now();
    this.forgetSettled(pending);

    let due: DomainRecord | undefined;
    let earliest = Number.POSITIVE_INFINITY;
    for (const domain of pending) {
      if (this.inFlight.has(domain.id)) {
        continue;
      }
      const at = this.dueAt(domain);
      if (at < earliest) {
        earliest = at;
        due = domain;
      }
    }

    return earliest <= now ? { due, nextDueIn: 0 } : { due: undefined, nextDueIn: earliest - now };
  }

  private dueAt(domain: DomainRecord): number {
    const created = Date.parse(domain.createdAt);
    const checked = domain.checkedAt === undefined ? created : Date.parse(domain.checkedAt);
    const last = Math.max(checked, this.attempted.get(domain.id) ?? created);
    return last + checkInterval(last - created);
  }

  /** Drops what is remembered of domains that are no longer pending (settled or deleted). */
  private forgetSettled(pending: readonly DomainRecord[]): void {
    if (this.attempted.size <= pending.length) {
      return;
    }
    const ids = new Set(pending.map((domain) => domain.id));
    for (const id of this.attempted.keys()) {
      if (!ids.has(id)) {
        this.attempted.delete(id);
      }
    }
  }
}
