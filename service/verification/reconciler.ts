// The background loop that keeps `Pending` domains' statuses fresh.
//
// Two clocks: when a domain is due is business time, read from the injected `Clock` (tests move
// it); how fast checks start is read from a monotonic `Pacer` (`performance.now()` and unref'd
// timers unless a test passes its own), so the rate bound holds whatever the wall clock does.
//
// Known limit: finding the due domains means reading every pending domain, which blocks the event
// loop for about 40 ms at 100k pending domains. A scan therefore runs at most once a second and
// queues what the rate lets start before the next one, so the cost is per second, not per check,
// whatever the rate; past about a million pending domains a scan would take most of a second, and
// the store should then keep the pending domains ordered by due time instead.

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

/** Monotonic time and timers, which set the pace of checks; tests pass one they move by hand. */
export interface Pacer {
  /** Milliseconds from an arbitrary origin, never going back. */
  now(): number;
  /** Calls `callback` once `ms` have passed; the function returned cancels the call. */
  schedule(callback: () => void, ms: number): () => void;
}

/** `performance.now()` and timers that never keep the process alive. */
export const realPacer: Pacer = {
  now: () => performance.now(),
  schedule: (callback, ms) => {
    const timer = setTimeout(callback, ms);
    timer.unref();
    return () => clearTimeout(timer);
  },
};

export interface ReconcilerOptions {
  store: Pick<DomainStore, 'get' | 'listPending'>;
  verifier: Pick<Verifier, 'refresh'>;
  clock: Clock;
  logger: Logger;
  /** Most checks started per second (`NUMONIC_RECONCILE_PER_SECOND`); starts are spaced evenly. */
  perSecond: number;
  /** Most checks in flight at once (`NUMONIC_RECONCILE_CONCURRENCY`). */
  concurrency: number;
  /** Least time between two scans of the pending domains: 1000 ms unless a test wants less. */
  scanMs?: number;
  /** Where the pace of checks is measured: {@link realPacer} unless a test passes its own. */
  pacer?: Pacer;
}

/**
 * Refreshes each pending domain when it is due (see {@link checkInterval}), latest first,
 * starting at most `perSecond` checks a second, evenly spaced with no burst, and keeping at most
 * `concurrency` in flight, so SES's API limits hold however many domains wait. A domain is due one
 * interval after its last check (or its registration), so a restart does not check every domain
 * at once. A check that fails is logged and retried one interval later.
 *
 * Lateness is counted in intervals, so when more domains are due than the rate allows, a new domain
 * a minute late goes with an old one an hour late: new domains, whose owners are adding records,
 * keep being checked often while old ones wait longer.
 *
 * The pending domains are scanned at most once per `scanMs`; each scan queues the latest
 * domains the rate can start before the next one. A queued domain is looked up again when its
 * turn comes, and skipped if it was settled, deleted or checked by verify-now meanwhile.
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
  private readonly scanMs: number;
  private readonly pacer: Pacer;
  /** How many domains a scan queues: every start the rate allows until the next scan, and more. */
  private readonly batch: number;
  private readonly inFlight = new Map<number, Promise<void>>();
  /** What decides when each pending domain is due, parsed once per stored record. */
  private readonly timings = new Map<number, Timing>();
  /** Ids of the due domains found by the last scan, latest first. */
  private queue: number[] = [];
  private scannedAt = Number.NEGATIVE_INFINITY;
  private nextStartAt = Number.NEGATIVE_INFINITY;
  private cancel: (() => void) | undefined;
  private running = false;

  constructor(private readonly options: ReconcilerOptions) {
    this.spacingMs = 1000 / options.perSecond;
    this.scanMs = options.scanMs ?? 1000;
    this.pacer = options.pacer ?? realPacer;
    this.batch = Math.ceil((options.perSecond * this.scanMs) / 1000) + options.concurrency;
  }

  /** Starts the loop; with the real pacer, its timers never keep the process alive. */
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
    this.cancel?.();
    this.cancel = undefined;

    await Promise.all(this.inFlight.values());
  }

  /** Starts one check if the rate, the concurrency bound and a due domain allow, then re-arms. */
  private pump(): void {
    this.cancel?.();
    this.cancel = undefined;
    if (!this.running) {
      return;
    }

    const now = this.pacer.now();
    let wait: number;
    if (this.nextStartAt > now) {
      wait = this.nextStartAt - now;
    } else if (this.inFlight.size >= this.options.concurrency) {
      // The next check to finish pumps again; the timer is only a backstop.
      wait = this.scanMs;
    } else {
      const due = this.nextDue(now);
      if (due !== undefined) {
        this.begin(due, now);
        wait = this.spacingMs;
      } else {
        wait = Math.max(1, this.scannedAt + this.scanMs - now);
      }
    }

    this.cancel = this.pacer.schedule(() => this.pump(), wait);
  }

  private begin(domain: DomainRecord, now: number): void {
    const { verifier, clock, logger } = this.options;
    this.timingOf(domain).attempted = clock.now();
    this.nextStartAt = now + this.spacingMs;

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

  /** The next queued domain still pending and due, scanning first when the time has come. */
  private nextDue(now: number): DomainRecord | undefined {
    if (now - this.scannedAt >= this.scanMs) {
      this.scan(now);
    }

    const { store, clock } = this.options;
    const today = clock.now();
    for (let id = this.queue.shift(); id !== undefined; id = this.queue.shift()) {
      const domain = store.get(id);
      const stillDue =
        domain !== undefined &&
        domain.verificationStatus === 'Pending' &&
        !this.inFlight.has(id) &&
        this.lateness(domain, today) >= 0;
      if (stillDue) {
        return domain;
      }
    }
    return undefined;
  }

  /** Queues the `batch` latest pending domains that are due now and not being checked. */
  private scan(now: number): void {
    const pending = this.options.store.listPending();
    const today = this.options.clock.now();
    this.scannedAt = now;
    this.forgetSettled(pending);

    const due: Due[] = [];
    for (const domain of pending) {
      const lateness = this.lateness(domain, today);
      if (lateness >= 0 && !this.inFlight.has(domain.id)) {
        due.push({ id: domain.id, rank: -lateness });
      }
    }

    this.queue = first(due, this.batch).map((entry) => entry.id);
  }

  /** How late the domain's next check is at `today`, in intervals: negative while not due. */
  private lateness(domain: DomainRecord, today: number): number {
    const { created, checked, attempted } = this.timingOf(domain);
    const last = Math.max(checked, attempted);
    const interval = checkInterval(last - created);
    return (today - last - interval) / interval;
  }

  /** The domain's timing, parsed again when the store holds a newer record of it. */
  private timingOf(domain: DomainRecord): Timing {
    const known = this.timings.get(domain.id);
    if (known?.record === domain) {
      return known;
    }

    const created = Date.parse(domain.createdAt);
    const checked = domain.checkedAt === undefined ? created : Date.parse(domain.checkedAt);
    const timing = { record: domain, created, checked, attempted: known?.attempted ?? created };
    this.timings.set(domain.id, timing);
    return timing;
  }

  /** Drops what is remembered of domains that are no longer pending (settled or deleted). */
  private forgetSettled(pending: readonly DomainRecord[]): void {
    if (this.timings.size <= pending.length) {
      return;
    }
    const ids = new Set(pending.map((domain) => domain.id));
    for (const id of this.timings.keys()) {
      if (!ids.has(id)) {
        this.timings.delete(id);
      }
    }
  }
}

interface Timing {
  /** The stored record these times were read from. */
  record: DomainRecord;
  created: number;
  checked: number;
  /** Business time of the last check this reconciler started, including ones that failed. */
  attempted: number;
}

interface Due {
  id: number;
  /** Lower goes first. */
  rank: number;
}

/**
 * The `count` entries of lowest rank, lowest first. A bounded max-heap keeps the cost near one
 * comparison per entry, where sorting a backlog of 100k due domains every second would not.
 */
function first(entries: readonly Due[], count: number): Due[] {
  const heap: Due[] = [];
  for (const entry of entries) {
    if (heap.length < count) {
      heap.push(entry);
      siftUp(heap, heap.length - 1);
    } else if (count > 0 && entry.rank < rankAt(heap, 0)) {
      heap[0] = entry;
      siftDown(heap, 0);
    }
  }
  return heap.sort((a, b) => a.rank - b.rank);
}

function siftUp(heap: Due[], index: number): void {
  let child = index;
  while (child > 0) {
    const parent = (child - 1) >> 1;
    if (rankAt(heap, parent) >= rankAt(heap, child)) {
      return;
    }
    swap(heap, parent, child);
    child = parent;
  }
}

function siftDown(heap: Due[], index: number): void {
  let parent = index;
  for (;;) {
    let largest = parent;
    for (const child of [2 * parent + 1, 2 * parent + 2]) {
      if (child < heap.length && rankAt(heap, child) > rankAt(heap, largest)) {
        largest = child;
      }
    }
    if (largest === parent) {
      return;
    }
    swap(heap, parent, largest);
    parent = largest;
  }
}

function rankAt(heap: readonly Due[], index: number): number {
  return (heap[index] as Due).rank;
}

function swap(heap: Due[], a: number, b: number): void {
  const kept = heap[a] as Due;
  heap[a] = heap[b] as Due;
  heap[b] = kept;
}
