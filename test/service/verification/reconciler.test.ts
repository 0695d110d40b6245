import assert from 'node:assert/strict';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import { pino } from 'pino';

import { openJsonFileStore, type JsonFileStore } from '../../../service/store/json-file-store';
import type { DomainRecord } from '../../../service/store/store';
import { DnsChecker, type RecordChecker } from '../../../service/verification/dns-checker';
import { checkInterval, Reconciler, type Pacer } from '../../../service/verification/reconciler';
import { Verifier } from '../../../service/verification/verifier';
import { TestDnsServer } from '../../helpers/dns-server';
import { sampleDomain } from '../../helpers/domain-records';
import { request } from '../../helpers/http';
import { ManualClock } from '../../helpers/manual-clock';
import { ScriptedSes } from '../../helpers/scripted-ses';
import { makeTempDir, removeTempDir, startTestService } from '../../helpers/service';
import { waitFor } from '../../helpers/wait';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

describe('checkInterval', () => {
  it('checks every minute during the first hour', () => {
    assert.equal(checkInterval(0), MINUTE);
    assert.equal(checkInterval(59 * MINUTE), MINUTE);
  });

  it('waits a sixtieth of the age in between', () => {
    assert.equal(checkInterval(10 * HOUR), 10 * MINUTE);
  });

  it('checks every hour from 60 hours on', () => {
    assert.equal(checkInterval(60 * HOUR), HOUR);
    assert.equal(checkInterval(500 * HOUR), HOUR);
  });
});

// The reconciler's other behaviours run on real time, over a real JSON-file store, the real
// verifier and real DNS lookups against a loopback server (which knows none of the names, so every
// domain stays pending), with an SES in aws mode that counts its status calls: one per check.

interface Harness {
  store: JsonFileStore;
  clock: ManualClock;
  /** Inserts `count` pending domains registered at `createdAt`. */
  fill(count: number, createdAt: number): Promise<DomainRecord[]>;
  start(ses: ScriptedSes, perSecond: number, concurrency: number): Reconciler;
  close(): Promise<void>;
}

async function openHarness(dns: TestDnsServer): Promise<Harness> {
  const dataDir = makeTempDir();
  const store = await openJsonFileStore(path.join(dataDir, 'numonic.json'));
  const clock = new ManualClock();
  const logger = pino({ level: 'silent' });
  let reconciler: Reconciler | undefined;

  return {
    store,
    clock,
    fill: (count, createdAt) =>
      Promise.all(
        Array.from({ length: count }, (_, index) =>
          store.insert(sampleDomain(`pending-${index}.com`, createdAt)),
        ),
      ),
    start: (ses, perSecond, concurrency) => {
      const checker = new DnsChecker({ servers: [dns.address], timeoutMs: 500 });
      const verifier = new Verifier({ store, ses, dns: checker, clock, logger });
      const options = { store, verifier, clock, logger, perSecond, concurrency, scanMs: 20 };
      reconciler = new Reconciler(options);
      reconciler.start();
      return reconciler;
    },
    close: async () => {
      await reconciler?.stop();
      await store.close();
      removeTempDir(dataDir);
    },
  };
}

/** Monotonic time that moves only when the test fires the next timer: the reconciler's pace. */
class ManualPacer implements Pacer {
  private at = 0;
  private timers: { at: number; callback: () => void }[] = [];

  now(): number {
    return this.at;
  }

  schedule(callback: () => void, ms: number): () => void {
    const timer = { at: this.at + ms, callback };
    this.timers.push(timer);
    return () => {
      this.timers = this.timers.filter((other) => other !== timer);
    };
  }

  /** Moves to the earliest timer (the first set, among equals) and runs it; false when none. */
  fireNext(): boolean {
    const next = this.timers.reduce<(typeof this.timers)[number] | undefined>(
      (best, timer) => (best === undefined || timer.at < best.at ? timer : best),
      undefined,
    );
    if (next === undefined) {
      return false;
    }
    this.timers = this.timers.filter((timer) => timer !== next);
    this.at = Math.max(this.at, next.at);
    next.callback();
    return true;
  }
}

/**
 * Wraps the checks the reconciler starts: records the paced time and id of each start and counts
 * those in flight. `settle` lets the checks' real work (DNS, store writes) run, and waits for it
 * when every slot is taken, since paced time could not start anything then.
 */
class PacedChecks {
  readonly starts: number[] = [];
  readonly ids: number[] = [];
  inFlight = 0;
  maxInFlight = 0;
  private readonly working = new Set<Promise<unknown>>();

  constructor(
    private readonly pacer: ManualPacer,
    private readonly verifier: Pick<Verifier, 'refresh'>,
  ) {}

  async refresh(id: number): Promise<DomainRecord | undefined> {
    this.starts.push(this.pacer.now());
    this.ids.push(id);
    this.inFlight += 1;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    const work = this.verifier.refresh(id);
    this.working.add(work);
    try {
      return await work;
    } finally {
      this.working.delete(work);
      this.inFlight -= 1;
    }
  }

  async settle(concurrency: number): Promise<void> {
    await new Promise(setImmediate);
    while (this.inFlight >= concurrency && this.working.size > 0) {
      await Promise.race(this.working);
      await new Promise(setImmediate);
    }
  }
}

/** A pending domain's checks: none yet, each found nothing, every one of them. */
const nothingPublished: RecordChecker = {
  check: async (records) => ({
    checks: records.map(() => ({ status: 'pending' as const })),
    answered: true,
  }),
};

// The reconciler over a real JSON-file store and the real verifier, with an SES in aws mode that
// counts its status calls (one per check). Its pace is a manual clock the test steps through, so
// the rate is asserted by counting starts per paced second, however loaded the machine is.

describe('Reconciler', () => {
  let dns: TestDnsServer;
  let harness: Harness;

  before(async () => {
    dns = await TestDnsServer.start();
  });
  after(() => dns.close());

  describe('over 1,000 pending domains', () => {
    const RATE = 400;
    const CONCURRENCY = 4;
    let dataDir: string;
    let store: JsonFileStore;
    let clock: ManualClock;
    let scans: number[];

    /**
     * Makes every domain due, starts a reconciler over the store and steps its pace until `count`
     * checks started or `pacedMs` of paced time passed.
     */
    const run = async (verifier: Pick<Verifier, 'refresh'>, count: number, pacedMs = 60_000) => {
      clock.advance(2 * HOUR);
      scans = [];
      const pacer = new ManualPacer();
      const checks = new PacedChecks(pacer, verifier);
      const counted = {
        get: (id: number) => store.get(id),
        listPending: () => {
          scans.push(pacer.now());
          return store.listPending();
        },
      };
      const logger = pino({ level: 'silent' });
      const reconciler = new Reconciler({
        ...{ store: counted, verifier: checks, clock, logger, pacer },
        ...{ perSecond: RATE, concurrency: CONCURRENCY },
      });

      reconciler.start();
      while (checks.starts.length < count && pacer.now() < pacedMs) {
        await checks.settle(CONCURRENCY);
        assert.ok(pacer.fireNext(), 'the reconciler set no timer');
      }
      await reconciler.stop();
      return checks;
    };

    before(async () => {
      dataDir = makeTempDir();
      store = await openJsonFileStore(path.join(dataDir, 'numonic.json'));
      clock = new ManualClock();
      const createdAt = clock.now();
      const names = Array.from({ length: 1000 }, (_, index) => `pending-${index}.com`);
      await Promise.all(names.map((name) => store.insert(sampleDomain(name, createdAt))));
    });
    after(async () => {
      await store.close();
      removeTempDir(dataDir);
    });
    describe('with the real verifier', () => {
      let ses: ScriptedSes;
      let checks: PacedChecks;

      before(async () => {
        ses = new ScriptedSes();
        const logger = pino({ level: 'silent' });
        const verifier = new Verifier({ store, ses, dns: nothingPublished, clock, logger });
        checks = await run(verifier, 1000);
      });

      it('checks every domain once and stores when it did', () => {
        assert.equal(ses.calls.length, 1000);
        assert.equal(new Set(ses.names).size, 1000);
        const now = new Date(clock.now()).toISOString();
        assert.ok(store.listPending().every((domain) => domain.checkedAt === now));
      });

      it('starts no more checks in any second than its rate allows', () => {
        let busiest = 0;
        let first = 0;
        for (let last = 0; last < checks.starts.length; last += 1) {
          while ((checks.starts[last] as number) - (checks.starts[first] as number) >= 1000) {
            first += 1;
          }
          busiest = Math.max(busiest, last - first + 1);
        }

        assert.ok(busiest <= RATE, `${busiest} checks within one second, ${RATE} allowed`);
      });

      it('keeps no more checks in flight than its concurrency', () => {
        assert.ok(checks.maxInFlight <= CONCURRENCY, `${checks.maxInFlight} in flight`);
        assert.ok(ses.maxInFlight <= CONCURRENCY, `${ses.maxInFlight} SES calls in flight`);
      });
    });

    describe('when checks finish at once', () => {
      it('starts them evenly spaced at exactly its rate', async () => {
        const instant = { refresh: async () => undefined };

        const checks = await run(instant, 1000);

        const spacing = 1000 / RATE;
        assert.deepEqual(
          checks.starts,
          checks.starts.map((_, index) => index * spacing),
        );
        assert.equal(new Set(checks.ids).size, 1000);
      });

      it('reads the pending domains once a second, not once a check', async () => {
        const instant = { refresh: async () => undefined };

        await run(instant, 1000);

        // 1,000 starts at 400 a second take 2.5 paced seconds: scans at 0, 1 and 2 s.
        assert.deepEqual(scans, [0, 1000, 2000]);
      });
    });

    describe('when queued domains are checked by verify-now or settle before their turn', () => {
      it('starts no check of them', async () => {
        const refreshed: number[] = [];
        const now = new Date(clock.now() + 2 * HOUR).toISOString();
        const overtaking = {
          refresh: async (id: number) => {
            refreshed.push(id);
            // The store holds an update in memory at once; only the file write is awaited.
            const others = store.listPending().filter((domain) => domain.id !== id);
            const updates = others.map((domain, index) =>
              store.update(
                domain.id,
                index % 2 === 0 ? { checkedAt: now } : { verificationStatus: 'Success' },
              ),
            );
            await Promise.all(updates);
            return undefined;
          },
        };

        await run(overtaking, 2, 900);

        assert.equal(refreshed.length, 1);
      });
    });
  });

  describe('when more domains are due than it can start', () => {
    it('starts the latest in intervals first, so a new domain goes before an old one', async () => {
      const dataDir = makeTempDir();
      const store = await openJsonFileStore(path.join(dataDir, 'numonic.json'));
      try {
        const clock = new ManualClock();
        const now = clock.now();
        // 48 hours old, checked 2 hours ago: due every 48 minutes, so 72 minutes late (1.5
        // intervals).
        const old = await store.insert(sampleDomain('old-shop.com', now - 50 * HOUR));
        await store.update(old.id, { checkedAt: new Date(now - 2 * HOUR).toISOString() });
        // Three minutes old, never checked: due every minute, so 2 minutes (2 intervals) late.
        const young = await store.insert(sampleDomain('new-shop.com', now - 3 * MINUTE));
        const pacer = new ManualPacer();
        const checks = new PacedChecks(pacer, { refresh: async () => undefined });
        const logger = pino({ level: 'silent' });
        const reconciler = new Reconciler({
          ...{ store, verifier: checks, clock, logger, pacer },
          ...{ perSecond: 1, concurrency: 1 },
        });

        reconciler.start();
        while (checks.starts.length < 2) {
          await checks.settle(1);
          pacer.fireNext();
        }
        await reconciler.stop();

        assert.deepEqual(checks.ids, [young.id, old.id]);
      } finally {
        await store.close();
        removeTempDir(dataDir);
      }
    });
  });

  describe('with a few domains', () => {
    beforeEach(async () => {
      harness = await openHarness(dns);
    });
    afterEach(() => harness.close());

    describe('when checks are slower than the rate', () => {
      it('keeps exactly its concurrency in flight', async () => {
        await harness.fill(30, harness.clock.now());
        harness.clock.advance(2 * MINUTE);
        const ses = new ScriptedSes({ delayMs: 40 });

        harness.start(ses, 1000, 3);
        await waitFor(() => ses.calls.length >= 30, 10_000);

        assert.equal(ses.maxInFlight, 3);
      });
    });

    describe('when a domain is not due yet', () => {
      it('checks it once a minute has passed', async () => {
        await harness.fill(1, harness.clock.now());
        const ses = new ScriptedSes();

        harness.start(ses, 100, 2);
        await sleep(200);
        assert.equal(ses.calls.length, 0);
        harness.clock.advance(MINUTE);

        await waitFor(() => ses.calls.length === 1, 2000);
      });
    });

    describe('when a domain was checked recently, as after a restart', () => {
      it('waits for its next check to be due', async () => {
        const { clock, store } = harness;
        const [domain] = await harness.fill(1, clock.now() - 10 * HOUR);
        await store.update(domain?.id ?? 0, { checkedAt: new Date(clock.now()).toISOString() });
        const ses = new ScriptedSes();

        harness.start(ses, 100, 2);
        await sleep(200);
        assert.equal(ses.calls.length, 0);
        clock.advance(10 * MINUTE);

        await waitFor(() => ses.calls.length === 1, 2000);
      });
    });

    describe('when a check fails', () => {
      it('goes on with the other domains', async () => {
        await harness.fill(5, harness.clock.now());
        harness.clock.advance(2 * MINUTE);
        const ses = new ScriptedSes();
        ses.answer = async (name) => {
          if (name === 'pending-0.com') throw new Error('SES is down');
          return { verificationStatus: 'Pending', sesStatus: 'PENDING' };
        };
        const checked = () => harness.store.listPending().filter((domain) => domain.checkedAt);

        harness.start(ses, 1000, 2);
        await waitFor(() => checked().length === 4, 2000);

        assert.equal(ses.calls.length, 5);
        assert.ok(checked().every((domain) => domain.name !== 'pending-0.com'));
      });

      it('tries the failed domain again one interval later', async () => {
        await harness.fill(1, harness.clock.now());
        harness.clock.advance(2 * MINUTE);
        const ses = new ScriptedSes();
        ses.answer = async () => {
          throw new Error('SES is down');
        };
        harness.start(ses, 1000, 2);
        await waitFor(() => ses.calls.length === 1, 2000);
        await sleep(100);
        assert.equal(ses.calls.length, 1);

        harness.clock.advance(MINUTE);

        await waitFor(() => ses.calls.length === 2, 2000);
      });
    });

    describe('stop()', () => {
      it('waits for the checks in flight and starts no more', async () => {
        await harness.fill(10, harness.clock.now());
        harness.clock.advance(2 * MINUTE);
        const ses = new ScriptedSes({ delayMs: 100 });
        const reconciler = harness.start(ses, 1000, 2);
        await waitFor(() => ses.inFlight === 2, 2000);

        await reconciler.stop();

        assert.equal(ses.inFlight, 0);
        const checked = harness.store.listPending().filter((domain) => domain.checkedAt).length;
        assert.equal(checked, ses.calls.length);
        await sleep(150);
        assert.equal(ses.calls.length, checked);
      });
    });
  });
});

describe('the reconciler in the running service', () => {
  it('marks a domain Success once its records appear, without a verify call', async () => {
    const dns = await TestDnsServer.start();
    const clock = new ManualClock();
    const service = await startTestService(
      { NUMONIC_DNS_SERVERS: dns.address, NUMONIC_RECONCILE_PER_SECOND: '50' },
      { clock },
    );
    try {
      const token = await service.token();
      const { body: domain } = await request(service.url, 'POST', '/api/v1/domains', {
        token,
        body: { domain_name: 'reconciled-shop.com' },
      });
      dns.publish(domain.dns_records);
      clock.advance(MINUTE);

      await waitFor(() => service.store.get(domain.domain_id)?.verificationStatus === 'Success');
      const res = await request(service.url, 'GET', `/api/v1/domains/${domain.domain_id}`, {
        token,
      });
      assert.equal(res.body.verification_status, 'Success');
      assert.equal(res.body.dns_records[0].status, 'verified');
    } finally {
      await service.close();
      await dns.close();
    }
  });
});
