import assert from 'node:assert/strict';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import { pino } from 'pino';

import { openJsonFileStore, type JsonFileStore } from '../../../service/store/json-file-store';
import type { DomainRecord } from '../../../service/store/store';
import { DnsChecker } from '../../../service/verification/dns-checker';
import { checkInterval, Reconciler } from '../../../service/verification/reconciler';
import { Verifier } from '../../../service/verification/verifier';
import { TestDnsServer } from '../../helpers/dns-server';
import { sampleDomain } from '../../helpers/domain-records';
import { request } from '../../helpers/http';
import { ManualClock } from '../../helpers/manual-clock';
import { ScriptedSes } from '../../helpers/scripted-ses';
import { makeTempDir, removeTempDir, startTestService } from '../../helpers/service';

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

// The reconciler over a real JSON-file store, the real verifier and real DNS lookups against a
// loopback server (which knows none of the names, so every domain stays pending), with an SES in
// aws mode that counts and times its status calls: one per check.

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
      const options = { store, verifier, clock, logger, perSecond, concurrency, idleMs: 20 };
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
    const WINDOW_MS = 250;
    let ses: ScriptedSes;
    let elapsedMs: number;

    before(async () => {
      harness = await openHarness(dns);
      await harness.fill(1000, harness.clock.now());
      harness.clock.advance(2 * MINUTE);
      ses = new ScriptedSes({ delayMs: 5 });

      const started = performance.now();
      const reconciler = harness.start(ses, RATE, CONCURRENCY);
      await waitFor(() => ses.calls.length >= 1000, 20_000);
      await reconciler.stop();
      elapsedMs = performance.now() - started;
    });
    after(() => harness.close());

    it('checks every domain once, then waits for them to be due again', async () => {
      await sleep(100);

      assert.equal(ses.calls.length, 1000);
      assert.equal(new Set(ses.names).size, 1000);
      assert.ok(harness.store.listPending().every((domain) => domain.checkedAt !== undefined));
    });

    it('starts no more checks in any window than its rate allows', () => {
      const allowed = Math.floor((RATE * WINDOW_MS) / 1000) + 1;
      let busiest = 0;
      let first = 0;
      for (let last = 0; last < ses.calls.length; last += 1) {
        while ((ses.calls[last] as number) - (ses.calls[first] as number) >= WINDOW_MS) {
          first += 1;
        }
        busiest = Math.max(busiest, last - first + 1);
      }

      assert.ok(busiest <= allowed, `${busiest} checks within ${WINDOW_MS} ms, ${allowed} allowed`);
      assert.ok(elapsedMs >= (999 * 1000) / RATE, `1000 checks in ${elapsedMs} ms`);
    });

    it('keeps no more checks in flight than its concurrency', () => {
      assert.ok(ses.maxInFlight <= CONCURRENCY, `${ses.maxInFlight} in flight`);
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

async function waitFor(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) {
      throw new Error(`condition not met within ${timeoutMs} ms`);
    }
    await sleep(5);
  }
}
