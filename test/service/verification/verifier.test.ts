import assert from 'node:assert/strict';
import path from 'node:path';

import { pino } from 'pino';

import { dnsRecordsOf } from '../../../service/domains/view';
import { ApiError } from '../../../service/errors';
import { openJsonFileStore, type JsonFileStore } from '../../../service/store/json-file-store';
import type { DomainRecord } from '../../../service/store/store';
import { DnsChecker } from '../../../service/verification/dns-checker';
import { VERIFICATION_WINDOW_MS, Verifier } from '../../../service/verification/verifier';
import { TestDnsServer } from '../../helpers/dns-server';
import { sampleDomain } from '../../helpers/domain-records';
import { ManualClock } from '../../helpers/manual-clock';
import { ScriptedSes } from '../../helpers/scripted-ses';
import { makeTempDir, removeTempDir } from '../../helpers/service';
import { waitFor } from '../../helpers/wait';

// The verifier over a real JSON-file store and real DNS lookups against a loopback server, with
// an SES whose answers the tests script.

describe('Verifier', () => {
  let dns: TestDnsServer;
  let dataDir: string;
  let store: JsonFileStore;
  let clock: ManualClock;
  let ses: ScriptedSes;
  let logs: Record<string, unknown>[];
  let verifier: Verifier;
  let count = 0;

  const insert = () => store.insert(sampleDomain(`verifier-${(count += 1)}.com`, clock.now()));
  const transitions = () =>
    logs.filter((line) => line.msg === 'domain verification status changed');

  /** SES answers `Success` only once the returned function is called, so a test acts mid-check. */
  function holdSesSuccess(): () => void {
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    ses.answer = async () => {
      await held;
      return { verificationStatus: 'Success', sesStatus: 'SUCCESS' };
    };
    return release;
  }

  before(async () => {
    dns = await TestDnsServer.start();
  });
  after(() => dns.close());
  beforeEach(async () => {
    dataDir = makeTempDir();
    store = await openJsonFileStore(path.join(dataDir, 'numonic.json'));
    clock = new ManualClock();
    ses = new ScriptedSes();
    logs = [];
    const capture = { write: (line: string) => logs.push(JSON.parse(line)) };
    const logger = pino({ base: undefined }, capture);
    const checker = new DnsChecker({ servers: [dns.address], timeoutMs: 300 });
    verifier = new Verifier({ store, ses, dns: checker, clock, logger });
  });
  afterEach(async () => {
    await store.close();
    removeTempDir(dataDir);
    dns.clear();
  });

  describe('in aws mode', () => {
    it("takes the overall status from SES's", async () => {
      const domain = await insert();
      ses.answer = async () => ({ verificationStatus: 'Success', sesStatus: 'SUCCESS' });

      const checked = await verifier.refresh(domain.id);

      assert.equal(checked?.verificationStatus, 'Success');
      assert.deepEqual(
        checked?.recordChecks?.map((check) => check.status),
        ['pending', 'pending', 'pending', 'pending'],
      );
    });

    it('stores nothing and rejects when SES fails', async () => {
      const domain = await insert();
      ses.answer = async () => {
        throw new ApiError('UPSTREAM_UNAVAILABLE', 'SES is down.');
      };

      await assert.rejects(verifier.refresh(domain.id), { code: 'UPSTREAM_UNAVAILABLE' });
      assert.equal(store.get(domain.id), domain);
    });

    it('clears verified_at when SES takes the verification back', async () => {
      const domain = await insert();
      ses.answer = async () => ({ verificationStatus: 'Success', sesStatus: 'SUCCESS' });
      await verifier.refresh(domain.id);
      ses.answer = async () => ({ verificationStatus: 'Pending', sesStatus: 'TEMPORARY_FAILURE' });

      const checked = await verifier.refresh(domain.id);

      assert.equal(checked?.verificationStatus, 'Pending');
      assert.equal(checked?.verifiedAt, undefined);
    });
  });

  describe('in simulated mode', () => {
    beforeEach(() => {
      ses = new ScriptedSes({ mode: 'simulated' });
      verifier = new Verifier({
        store,
        ses,
        dns: new DnsChecker({ servers: [dns.address], timeoutMs: 300 }),
        clock,
        logger: pino({ level: 'silent' }),
      });
    });

    it('never asks SES', async () => {
      const domain = await insert();

      await verifier.refresh(domain.id);

      assert.equal(ses.calls.length, 0);
    });

    describe('when DNS does not answer once the 72 hours have passed', () => {
      it('keeps the domain Pending, and an answered check then fails it', async () => {
        const domain = await insert();
        const records = dnsRecordsOf(domain);
        for (const record of records) dns.silence(record.name);
        clock.advance(VERIFICATION_WINDOW_MS);

        const unanswered = await verifier.refresh(domain.id);
        for (const record of records) dns.unsilence(record.name);
        const answered = await verifier.refresh(domain.id);

        assert.equal(unanswered?.verificationStatus, 'Pending');
        assert.equal(answered?.verificationStatus, 'Failed');
      });
    });

    it('stays Success when a record disappears, and shows the record pending', async () => {
      const domain = await insert();
      const records = dnsRecordsOf(domain);
      dns.publish(records);
      await verifier.refresh(domain.id);
      dns.remove(records[3]?.name ?? '');

      const checked = await verifier.refresh(domain.id);

      assert.equal(checked?.verificationStatus, 'Success');
      assert.equal(checked?.recordChecks?.[3]?.status, 'pending');
    });
  });

  describe('when the status changes', () => {
    it('logs one transition line with domain_id, domain, from and to', async () => {
      const domain = await insert();
      ses.answer = async () => ({ verificationStatus: 'Success', sesStatus: 'SUCCESS' });

      await verifier.refresh(domain.id);

      assert.equal(transitions().length, 1);
      assert.deepEqual(
        { ...transitions()[0], time: undefined, level: undefined },
        {
          domain_id: domain.id,
          domain: domain.name,
          from: 'Pending',
          to: 'Success',
          msg: 'domain verification status changed',
          time: undefined,
          level: undefined,
        },
      );
    });
  });

  describe('when the status stays the same', () => {
    it('logs no transition but stores the time of the check', async () => {
      const domain = await insert();
      clock.advance(60_000);

      const checked = await verifier.refresh(domain.id);

      assert.equal(transitions().length, 0);
      assert.equal(checked?.checkedAt, new Date(clock.now()).toISOString());
    });
  });

  describe('when the domain does not exist', () => {
    it('resolves undefined and stores nothing', async () => {
      const checked = await verifier.refresh(12345);

      assert.equal(checked, undefined);
      assert.equal(store.size, 0);
    });
  });

  describe('when the domain is deleted while it is being checked', () => {
    it('does not write it back', async () => {
      const domain = await insert();
      const release = holdSesSuccess();

      const checking = verifier.refresh(domain.id);
      await waitFor(() => ses.calls.length === 1, 2000);
      await store.remove(domain.id);
      release();

      assert.equal(await checking, undefined);
      assert.equal(store.get(domain.id), undefined);
      assert.equal(store.findByName(domain.name), undefined);
      assert.equal(transitions().length, 0);
    });

    it('leaves a new registration of its name alone', async () => {
      const domain = await insert();
      const release = holdSesSuccess();

      const checking = verifier.refresh(domain.id);
      await waitFor(() => ses.calls.length === 1, 2000);
      await store.remove(domain.id);
      const again = await store.insert(sampleDomain(domain.name, clock.now()));
      release();

      assert.equal(await checking, undefined);
      assert.equal(store.get(again.id), again);
      assert.equal(store.get(domain.id), undefined);
    });
  });

  describe('when two checks of one domain overlap', () => {
    it('runs them one after the other', async () => {
      const domain = await insert();
      ses = new ScriptedSes({ delayMs: 20 });
      const logger = pino({ level: 'silent' });
      const checker = new DnsChecker({ servers: [dns.address], timeoutMs: 300 });
      verifier = new Verifier({ store, ses, dns: checker, clock, logger });

      const results = await Promise.all([verifier.refresh(domain.id), verifier.refresh(domain.id)]);

      assert.equal(ses.maxInFlight, 1);
      assert.ok(results.every((result: DomainRecord | undefined) => result !== undefined));
    });
  });
});
