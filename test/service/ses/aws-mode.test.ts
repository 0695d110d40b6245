import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import { emptyStoreDocument, serializeStoreFile } from '../../../service/store/json-file-store';

import { launchService } from '../../helpers/child-service';
import { startFakeAws, type FakeAws } from '../../helpers/fake-aws';
import { request } from '../../helpers/http';
import {
  makeTempDir,
  removeTempDir,
  startTestService,
  type TestService,
} from '../../helpers/service';

// The real service in `aws` mode, through HTTP, against the fake SES and STS. Whatever SES does,
// a domain exists in both places or in neither: every test ends by comparing the fake's
// identities with the store's file.

const ENV = {
  NUMONIC_SES_MODE: 'aws',
  NUMONIC_CONFIGURATION_SET: 'numonic-test',
  NUMONIC_SES_TIMEOUT_MS: '300',
  NUMONIC_SES_MAX_ATTEMPTS: '3',
  NUMONIC_ORPHAN_RETRY_SECONDS: '1',
};

const SERVER_ERROR = { status: 500 };

describe('aws mode', () => {
  let aws: FakeAws;
  let restoreEnv: () => void;
  let service: TestService;
  let token: string;

  /** Identities a test gave SES that are not this service's: left out of the final comparison. */
  let foreign: string[];
  /** Data folders a test made itself, removed after it. */
  const folders: string[] = [];

  beforeEach(async () => {
    foreign = [];
    aws = await startFakeAws({ configurationSets: ['numonic-test'] });
    restoreEnv = aws.useEnv();
    service = await startTestService(ENV);
    token = await service.token();
  });

  afterEach(async function () {
    // The invariant holds after every test, whatever the test itself asserted.
    if (this.currentTest?.state === 'passed') {
      assertSesMatchesStore(foreign);
    }
    await service?.close();
    restoreEnv();
    await aws.close();
    for (const dir of folders.splice(0)) removeTempDir(dir);
  });

  function register(name = 'example.com') {
    return request(service.url, 'POST', '/api/v1/domains', { token, body: { domain_name: name } });
  }

  function remove(id: number) {
    return request(service.url, 'DELETE', `/api/v1/domains/${id}`, { token });
  }

  /** Domain names as the store's file holds them: what a restart would find. */
  function storedNames(): string[] {
    const document = JSON.parse(readFileSync(service.dataFile, 'utf8')) as {
      domains: Record<string, { name: string }>;
    };
    return Object.values(document.domains).map((domain) => domain.name);
  }

  /** The invariant: SES and the store hold the same domains (`foreign`: identities not ours). */
  function assertSesMatchesStore(foreign: string[] = []): void {
    const inSes = [...aws.identities.keys()].filter((name) => !foreign.includes(name)).sort();
    const stored = storedNames().sort();
    assert.deepEqual(inSes, stored, 'SES identities and stored domains differ');
    for (const name of stored) {
      assert.ok(service.store.findByName(name), `${name} is on disk but not in memory`);
    }
  }

  /** Makes the store's file writes fail, even for root: a folder sits where the temp file goes. */
  function breakStoreWrites(): () => void {
    const blocker = `${service.dataFile}.tmp`;
    mkdirSync(blocker);
    return () => rmSync(blocker, { recursive: true, force: true });
  }

  /**
   * Restarts the service with a sweeper that waits an hour, then leaves example.com as a listed
   * orphan: its store write fails and so does every attempt of the clean-up's delete.
   */
  async function leaveOrphan(): Promise<void> {
    await service.close();
    service = await startTestService({ ...ENV, NUMONIC_ORPHAN_RETRY_SECONDS: '3600' });
    token = await service.token();
    const repair = breakStoreWrites();
    aws.inject('DeleteEmailIdentity', ...Array.from({ length: 3 }, () => SERVER_ERROR));
    aws.onCall('DeleteEmailIdentity', repair);
    assert.equal((await register()).status, 500);
    assert.deepEqual(service.store.listOrphans(), ['example.com']);
  }

  describe('POST /api/v1/domains', () => {
    it('answers 201 with the records and ARN SES and STS gave', async () => {
      const response = await register();

      assert.equal(response.status, 201);
      const identity = aws.identities.get('example.com');
      assert.ok(identity);
      assert.equal(
        response.body.identity_arn,
        'arn:aws:ses:us-east-1:123456789012:identity/example.com',
      );
      assert.equal(response.body.configuration_set_name, 'numonic-test');
      assert.deepEqual(
        response.body.dns_records.map((record: { type: string; name: string; value: string }) => ({
          type: record.type,
          name: record.name,
          value: record.value,
        })),
        [
          { type: 'TXT', name: '_amazonses.example.com', value: identity.verificationToken },
          ...identity.dkimTokens.map((dkim) => ({
            type: 'CNAME',
            name: `${dkim}._domainkey.example.com`,
            value: `${dkim}.dkim.amazonses.com`,
          })),
        ],
      );
      assertSesMatchesStore();
    });

    describe('when the region signs DKIM in its own zone', () => {
      it('points the three CNAMEs into that zone', async () => {
        aws.signingHostedZone = 'dkim.eu-central-2.amazonses.com';

        const response = await register();

        assert.equal(response.status, 201);
        const tokens = aws.identities.get('example.com')?.dkimTokens ?? [];
        const cnames = response.body.dns_records
          .filter((record: { type: string }) => record.type === 'CNAME')
          .map((record: { name: string; value: string }) => [record.name, record.value]);
        assert.deepEqual(
          cnames,
          tokens.map((dkim) => [
            `${dkim}._domainkey.example.com`,
            `${dkim}.dkim.eu-central-2.amazonses.com`,
          ]),
        );
        assertSesMatchesStore();
      });
    });

    describe('when SES throttles twice', () => {
      it('retries and answers 201', async () => {
        aws.inject('CreateEmailIdentity', { throttle: true }, { throttle: true });

        const response = await register();

        assert.equal(response.status, 201);
        assert.equal(aws.calls.CreateEmailIdentity, 3);
        assertSesMatchesStore();
      });
    });

    describe('when SES keeps failing', () => {
      it('answers 503 UPSTREAM_UNAVAILABLE and stores nothing', async () => {
        aws.inject('CreateEmailIdentity', SERVER_ERROR, SERVER_ERROR, SERVER_ERROR);

        const response = await register();

        assert.equal(response.status, 503);
        assert.equal(response.body.error.code, 'UPSTREAM_UNAVAILABLE');
        assert.deepEqual(storedNames(), []);
        assertSesMatchesStore();
      });
    });

    describe('when SES answers slower than the timeout', () => {
      it('answers 503 within the time bound and stores nothing', async () => {
        const slow = { delayMs: 10_000 };
        aws.inject('CreateEmailIdentity', slow, slow, slow);

        const started = Date.now();
        const response = await register();
        const elapsed = Date.now() - started;

        assert.equal(response.status, 503);
        // 3 attempts of 300 ms, at most 600 ms of backoff, and room for a slow host.
        assert.ok(elapsed < 2_500, `took ${elapsed} ms`);
        assert.equal(aws.calls.CreateEmailIdentity, 3);
        assertSesMatchesStore();
      });
    });

    describe('when SES creates the identity only after the last attempt timed out', () => {
      it('answers 503, stores nothing, and deletes the identity once it appears', async () => {
        const dropped = { delayMs: 10_000 };
        aws.inject('CreateEmailIdentity', dropped, dropped, { delayMs: 1_000, applied: 'late' });

        const response = await register();

        assert.equal(response.status, 503);
        assert.deepEqual(storedNames(), []);
        const deadline = Date.now() + 8_000;
        while (aws.calls.DeleteEmailIdentity === 0 && Date.now() < deadline) {
          await sleep(50);
        }
        assert.equal(aws.calls.DeleteEmailIdentity, 1);
        assertSesMatchesStore();
      });
    });

    describe('when SES fails after creating the identity', () => {
      it('answers 503 and SES keeps nothing', async () => {
        aws.inject('VerifyDomainIdentity', SERVER_ERROR, SERVER_ERROR, SERVER_ERROR);

        const response = await register();

        assert.equal(response.status, 503);
        assert.equal(aws.identities.size, 0);
        assertSesMatchesStore();
      });
    });

    describe('when SES already has the identity', () => {
      it('answers 409 CONFLICT, stores nothing and leaves the identity alone', async () => {
        const theirs = aws.addIdentity('example.com', [{ Key: 'team', Value: 'marketing' }]);
        const before = structuredClone(theirs);

        const response = await register();

        assert.equal(response.status, 409);
        assert.equal(response.body.error.code, 'CONFLICT');
        assert.deepEqual(aws.identities.get('example.com'), before);
        foreign = ['example.com'];
        assertSesMatchesStore(foreign);
      });
    });

    describe('when the store write fails after SES created the identity', () => {
      it('deletes the identity again and stores nothing', async () => {
        const repair = breakStoreWrites();

        const response = await register();
        repair();

        assert.equal(response.status, 500);
        assert.equal(aws.calls.DeleteEmailIdentity, 1);
        assertSesMatchesStore();
        assert.equal((await register()).status, 201);
        assertSesMatchesStore();
      });
    });

    describe('when the store write fails and SES refuses that delete too', () => {
      it('keeps the name as an orphan that the sweeper deletes later', async () => {
        const repair = breakStoreWrites();
        // Every attempt of the clean-up's delete fails (the SDK's 3); the store heals meanwhile,
        // so the orphan list can be written.
        aws.inject('DeleteEmailIdentity', ...Array.from({ length: 3 }, () => SERVER_ERROR));
        aws.onCall('DeleteEmailIdentity', repair);

        const response = await register();

        assert.equal(response.status, 500);
        assert.deepEqual(service.store.listOrphans(), ['example.com']);
        assert.ok(aws.identities.has('example.com'));

        const deadline = Date.now() + 5_000;
        while (aws.identities.size > 0 && Date.now() < deadline) {
          await sleep(50);
        }
        assert.equal(aws.pendingFaults('DeleteEmailIdentity'), 0);
        assert.deepEqual(service.store.listOrphans(), []);
        assertSesMatchesStore();
      });
    });

    describe('when the name is registered again while its orphan waits for the sweeper', () => {
      it('deletes the orphan first and answers 201', async () => {
        await leaveOrphan();

        const again = await register();

        assert.equal(again.status, 201);
        assert.deepEqual(service.store.listOrphans(), []);
        assertSesMatchesStore();
      });
    });

    describe("when the name is registered again while SES still refuses its orphan's delete", () => {
      it('answers 503 rather than 409, and 201 once SES takes the delete', async () => {
        await leaveOrphan();
        aws.inject('DeleteEmailIdentity', ...Array.from({ length: 3 }, () => SERVER_ERROR));

        const refused = await register();

        assert.equal(refused.status, 503);
        assert.equal(refused.body.error.code, 'UPSTREAM_UNAVAILABLE');
        assert.deepEqual(service.store.listOrphans(), ['example.com']);
        assert.equal((await register()).status, 201);
        assert.deepEqual(service.store.listOrphans(), []);
        assertSesMatchesStore();
      });
    });

    describe('when the store stays broken and SES refuses that delete too', () => {
      it('retries the delete from memory until SES takes it', async () => {
        const repair = breakStoreWrites();
        aws.inject('DeleteEmailIdentity', ...Array.from({ length: 3 }, () => SERVER_ERROR));

        const response = await register();

        assert.equal(response.status, 500);
        assert.ok(aws.identities.has('example.com'));
        const deadline = Date.now() + 5_000;
        while (aws.identities.size > 0 && Date.now() < deadline) {
          await sleep(50);
        }
        repair();
        assert.equal(aws.identities.size, 0, 'the orphan was never deleted');
        assert.deepEqual(service.store.listOrphans(), []);
        assertSesMatchesStore();
      });
    });
  });

  describe('at start-up, when STS refuses the credentials', () => {
    it('exits 1 naming STS GetCallerIdentity and the reason, never the credentials', async () => {
      const dataDir = makeTempDir();
      folders.push(dataDir);
      aws.inject('GetCallerIdentity', {
        error: { status: 403, code: 'InvalidClientTokenId', message: 'The token is invalid.' },
      });

      const launched = launchService(
        {
          ...aws.env,
          ...ENV,
          LOG_LEVEL: 'silent',
          NUMONIC_DATA_FILE: path.join(dataDir, 'numonic.json'),
          NUMONIC_JWT_SECRET: 'a'.repeat(32),
        },
        dataDir,
      );

      assert.equal(await launched.exited, 1);
      assert.match(launched.stderr(), /STS GetCallerIdentity failed: InvalidClientTokenId/);
      const output = launched.stdout() + launched.stderr();
      assert.ok(!output.includes(aws.env.AWS_ACCESS_KEY_ID!));
      assert.ok(!output.includes(aws.env.AWS_SECRET_ACCESS_KEY!));
    });
  });

  describe('at start-up, with orphans listed in the data file', () => {
    it('deletes them from SES and from the list, without waiting for the periodic sweep', async () => {
      await service.close();
      const dataDir = makeTempDir();
      folders.push(dataDir);
      const orphans = ['leftover-a.com', 'leftover-b.com'];
      const document = { ...emptyStoreDocument(), orphans };
      writeFileSync(path.join(dataDir, 'numonic.json'), serializeStoreFile(document));
      for (const name of orphans) aws.addIdentity(name);

      service = await startTestService(
        { ...ENV, NUMONIC_ORPHAN_RETRY_SECONDS: '3600' },
        { dataDir },
      );
      const deadline = Date.now() + 5_000;
      while (service.store.listOrphans().length > 0 && Date.now() < deadline) {
        await sleep(20);
      }

      assert.equal(aws.identities.size, 0);
      const onDisk = JSON.parse(readFileSync(service.dataFile, 'utf8')) as { orphans: string[] };
      assert.deepEqual(onDisk.orphans, []);
    });
  });

  describe('DELETE /api/v1/domains/:id', () => {
    it('removes the identity and the record', async () => {
      const { body } = await register();

      const response = await remove(body.domain_id);

      assert.equal(response.status, 200);
      assert.deepEqual(response.body, { success: true });
      assert.equal(aws.identities.size, 0);
      assertSesMatchesStore();
    });

    describe('when SES no longer has the identity', () => {
      it('counts it as removed and deletes the record', async () => {
        const { body } = await register();
        aws.identities.delete('example.com');

        const response = await remove(body.domain_id);

        assert.equal(response.status, 200);
        assertSesMatchesStore();
      });
    });

    describe('when SES keeps failing', () => {
      it('answers 503, keeps the record, and a retry deletes both', async () => {
        const { body } = await register();
        aws.inject('DeleteEmailIdentity', SERVER_ERROR, SERVER_ERROR, SERVER_ERROR);

        const failed = await remove(body.domain_id);

        assert.equal(failed.status, 503);
        assert.equal(failed.body.error.code, 'UPSTREAM_UNAVAILABLE');
        const kept = await request(service.url, 'GET', `/api/v1/domains/${body.domain_id}`, {
          token,
        });
        assert.equal(kept.status, 200);
        assertSesMatchesStore();

        const retried = await remove(body.domain_id);

        assert.equal(retried.status, 200);
        assertSesMatchesStore();
      });
    });
  });
});
