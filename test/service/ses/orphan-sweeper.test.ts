import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import { pino } from 'pino';

import { loadConfig } from '../../../service/config';
import { KeyedMutex } from '../../../service/domains/keyed-mutex';
import { AwsSesIdentities } from '../../../service/ses/aws';
import { OrphanSweeper } from '../../../service/ses/orphan-sweeper';
import { openJsonFileStore, type JsonFileStore } from '../../../service/store/json-file-store';
import { startFakeAws, type FakeAws } from '../../helpers/fake-aws';
import { makeTempDir, removeTempDir } from '../../helpers/service';
import { waitFor } from '../../helpers/wait';

const CONFIGURATION_SET = 'numonic-test';

describe('OrphanSweeper', () => {
  const config = loadConfig({
    NUMONIC_SES_MODE: 'aws',
    NUMONIC_CONFIGURATION_SET: CONFIGURATION_SET,
    NUMONIC_SES_TIMEOUT_MS: '300',
    NUMONIC_SES_MAX_ATTEMPTS: '3',
  }).ses;
  const logger = pino({ level: 'silent' });
  let aws: FakeAws;
  let restoreEnv: () => void;
  let ses: AwsSesIdentities;
  let dataDir: string;
  let store: JsonFileStore;
  let sweeper: OrphanSweeper;

  function newSweeper(options: { intervalMs?: number; names?: KeyedMutex } = {}): OrphanSweeper {
    return new OrphanSweeper({ store, ses, logger, intervalMs: 60_000, ...options });
  }

  beforeEach(async () => {
    aws = await startFakeAws({ configurationSets: [CONFIGURATION_SET] });
    restoreEnv = aws.useEnv();
    ses = new AwsSesIdentities(config, logger);
    await ses.start();
    dataDir = makeTempDir();
    store = await openJsonFileStore(path.join(dataDir, 'numonic.json'));
    sweeper = newSweeper();
  });

  afterEach(async function () {
    await sweeper.stop();
    // Whatever a test did, every identity in SES is a stored domain or a listed orphan, and every
    // stored domain has its identity.
    if (this.currentTest?.state === 'passed') {
      for (const name of aws.identities.keys()) {
        const accounted =
          store.findByName(name) !== undefined || store.listOrphans().includes(name);
        assert.ok(accounted, `${name} is in SES but neither stored nor listed as an orphan`);
      }
      for (const domain of store.listPending()) {
        assert.ok(aws.identities.has(domain.name), `${domain.name} is stored but not in SES`);
      }
    }
    await store.close();
    removeTempDir(dataDir);
    ses.close();
    restoreEnv();
    await aws.close();
  });

  describe('sweep', () => {
    it('deletes every orphaned identity and forgets its name', async () => {
      aws.addIdentity('one.example.com');
      aws.addIdentity('two.example.com');
      await store.addOrphan('one.example.com');
      await store.addOrphan('two.example.com');

      const result = await sweeper.sweep();

      assert.deepEqual(result.deleted, ['one.example.com', 'two.example.com']);
      assert.equal(aws.identities.size, 0);
      assert.deepEqual(store.listOrphans(), []);
    });

    describe('when SES no longer knows the identity', () => {
      it('forgets the name', async () => {
        await store.addOrphan('gone.example.com');

        await sweeper.sweep();

        assert.deepEqual(store.listOrphans(), []);
      });
    });

    describe('when SES still fails for a name', () => {
      it('keeps the name, and the next sweep deletes it', async () => {
        aws.addIdentity('stuck.example.com');
        await store.addOrphan('stuck.example.com');
        aws.inject('DeleteEmailIdentity', { status: 500 }, { status: 500 }, { status: 500 });

        const first = await sweeper.sweep();
        const second = await sweeper.sweep();

        assert.deepEqual(first.failed, ['stuck.example.com']);
        assert.deepEqual(second.deleted, ['stuck.example.com']);
        assert.equal(aws.identities.size, 0);
        assert.deepEqual(store.listOrphans(), []);
      });
    });

    describe('when the store holds the name as a live domain again', () => {
      it('forgets the name and keeps the identity', async () => {
        const registration = await ses.create('back.example.com');
        const now = new Date().toISOString();
        await store.insert({
          tenantId: randomUUID(),
          name: 'back.example.com',
          ...registration,
          configurationSet: CONFIGURATION_SET,
          verificationStatus: 'Pending',
          createdAt: now,
          updatedAt: now,
        });
        await store.addOrphan('back.example.com');

        const result = await sweeper.sweep();

        assert.deepEqual(result.live, ['back.example.com']);
        assert.ok(aws.identities.has('back.example.com'));
        assert.equal(aws.calls.DeleteEmailIdentity, 0);
        assert.deepEqual(store.listOrphans(), []);
      });
    });

    describe('when a registration holds the name', () => {
      it('waits for it before deciding', async () => {
        const names = new KeyedMutex();
        sweeper = newSweeper({ names });
        aws.addIdentity('busy.example.com');
        await store.addOrphan('busy.example.com');
        let release!: () => void;
        const held = names.run('busy.example.com', () => new Promise<void>((r) => (release = r)));

        const sweeping = sweeper.sweep();
        await sleep(100);
        const callsWhileHeld = aws.calls.DeleteEmailIdentity;
        release();
        await held;
        await sweeping;

        assert.equal(callsWhileHeld, 0);
        assert.equal(aws.calls.DeleteEmailIdentity, 1);
      });
    });
  });

  describe('clear', () => {
    it('deletes a listed orphan at once and forgets its name', async () => {
      aws.addIdentity('again.example.com');
      await store.addOrphan('again.example.com');

      await sweeper.clear('again.example.com');

      assert.equal(aws.identities.size, 0);
      assert.deepEqual(store.listOrphans(), []);
    });

    it('leaves an unlisted name alone', async () => {
      aws.addIdentity('theirs.example.com');

      await sweeper.clear('theirs.example.com');

      assert.equal(aws.calls.DeleteEmailIdentity, 0);
      // Not this service's identity: out of the SES/store comparison.
      aws.identities.delete('theirs.example.com');
    });

    describe('when SES still refuses the delete', () => {
      it('rejects with UPSTREAM_UNAVAILABLE and keeps the name listed', async () => {
        aws.addIdentity('stuck.example.com');
        await store.addOrphan('stuck.example.com');
        aws.inject('DeleteEmailIdentity', { status: 500 }, { status: 500 }, { status: 500 });

        await assert.rejects(sweeper.clear('stuck.example.com'), { code: 'UPSTREAM_UNAVAILABLE' });

        assert.ok(aws.identities.has('stuck.example.com'));
        assert.deepEqual(store.listOrphans(), ['stuck.example.com']);
      });
    });
  });

  describe('start', () => {
    it('sweeps again at every interval', async () => {
      sweeper = newSweeper({ intervalMs: 50 });
      sweeper.start();
      aws.addIdentity('later.example.com');
      await store.addOrphan('later.example.com');

      await waitFor(() => store.listOrphans().length === 0);

      assert.equal(aws.identities.size, 0);
    });
  });

  describe('stop', () => {
    it('waits for the name being swept and leaves the rest for the next start', async () => {
      aws.addIdentity('slow.example.com');
      aws.addIdentity('next.example.com');
      await store.addOrphan('slow.example.com');
      await store.addOrphan('next.example.com');
      aws.inject('DeleteEmailIdentity', { delayMs: 150 });

      const sweeping = sweeper.sweep();
      await sleep(20);
      await sweeper.stop();

      assert.deepEqual((await sweeping).deleted, ['slow.example.com']);
      assert.deepEqual(store.listOrphans(), ['next.example.com']);
    });
  });
});
