import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';

import { TestDnsServer } from '../../helpers/dns-server';
import { startFakeAws, type FakeAws } from '../../helpers/fake-aws';
import { request } from '../../helpers/http';
import { ManualClock } from '../../helpers/manual-clock';
import {
  makeTempDir,
  removeTempDir,
  startTestService,
  type TestService,
} from '../../helpers/service';

const HOUR = 3_600_000;
const SEED_FIELDS = [
  'domain_id',
  'tenant_id',
  'domain_name',
  'identity_arn',
  'configuration_set_name',
  'created_at',
];

// The real service in simulated mode, its DNS checks pointed at a loopback DNS server that the
// tests publish records on, with a clock the tests move.

describe('POST /api/v1/domains/:id/verify', () => {
  let dns: TestDnsServer;
  let clock: ManualClock;
  let service: TestService;
  let token: string;

  const env = () => ({
    NUMONIC_DNS_SERVERS: dns.address,
    NUMONIC_DNS_TIMEOUT_MS: '300',
    NUMONIC_VERIFY_PER_MINUTE: '1000',
  });
  const register = async (as = token) => {
    const name = `verify-${randomUUID().slice(0, 8)}.com`;
    const res = await request(service.url, 'POST', '/api/v1/domains', {
      token: as,
      body: { domain_name: name },
    });
    assert.equal(res.status, 201);
    return res.body;
  };
  const verify = (id: number, as = token) =>
    request(service.url, 'POST', `/api/v1/domains/${id}/verify`, { token: as });

  before(async () => {
    dns = await TestDnsServer.start();
  });
  after(() => dns.close());
  beforeEach(async () => {
    clock = new ManualClock();
    service = await startTestService(env(), { clock });
    token = await service.token();
  });
  afterEach(() => service.close());

  describe('when no record is published yet', () => {
    it('answers 200 with the domain Pending and every record pending', async () => {
      const domain = await register();

      const res = await verify(domain.domain_id);

      assert.equal(res.status, 200);
      assert.equal(res.body.verification_status, 'Pending');
      assert.deepEqual(
        res.body.dns_records.map((record: any) => record.status),
        ['pending', 'pending', 'pending', 'pending'],
      );
    });

    it('sets checked_at to the time of the check', async () => {
      const domain = await register();
      clock.advance(5_000);

      const res = await verify(domain.domain_id);

      assert.equal(res.body.checked_at, new Date(clock.now()).toISOString());
      assert.equal(res.body.verified_at, null);
    });
  });

  describe('when the records appear', () => {
    it('turns Pending to Success with every record verified', async () => {
      const domain = await register();
      await verify(domain.domain_id);
      dns.publish(domain.dns_records);

      const res = await verify(domain.domain_id);

      assert.equal(res.body.verification_status, 'Success');
      assert.deepEqual(
        res.body.dns_records.map((record: any) => record.status),
        ['verified', 'verified', 'verified', 'verified'],
      );
    });

    it('sets verified_at to the time of the check', async () => {
      const domain = await register();
      dns.publish(domain.dns_records);
      clock.advance(90_000);

      const res = await verify(domain.domain_id);

      assert.equal(res.body.verified_at, new Date(clock.now()).toISOString());
    });

    it('keeps the seed fields and the records as registered', async () => {
      const domain = await register();
      dns.publish(domain.dns_records);

      const { body } = await verify(domain.domain_id);

      for (const field of SEED_FIELDS) {
        assert.deepEqual(body[field], domain[field], field);
      }
      assert.deepEqual(
        body.dns_records.map(({ type, name, value }: any) => ({ type, name, value })),
        domain.dns_records,
      );
    });
  });

  describe('when only the TXT record is published', () => {
    it('reports it verified and the DKIM records pending', async () => {
      const domain = await register();
      dns.publish(domain.dns_records.slice(0, 1));

      const { body } = await verify(domain.domain_id);

      assert.equal(body.verification_status, 'Pending');
      assert.deepEqual(
        body.dns_records.map((record: any) => record.status),
        ['verified', 'pending', 'pending', 'pending'],
      );
    });
  });

  describe('when the CNAME points elsewhere', () => {
    it('reports mismatch with the value found', async () => {
      const domain = await register();
      dns.publish(domain.dns_records);
      const dkim = domain.dns_records[2];
      dns.setCname(dkim.name, 'wrong.dkim.amazonses.com');

      const { body } = await verify(domain.domain_id);

      assert.equal(body.verification_status, 'Pending');
      assert.deepEqual(body.dns_records[2], {
        ...dkim,
        status: 'mismatch',
        found: ['wrong.dkim.amazonses.com'],
      });
      assert.equal(body.dns_records[1].found, undefined);
    });
  });

  describe('when the records are still missing after 72 hours', () => {
    it('stays Pending until the 72 hours have passed', async () => {
      const domain = await register();
      clock.advance(72 * HOUR - 1);

      const { body } = await verify(domain.domain_id);

      assert.equal(body.verification_status, 'Pending');
    });

    it('answers Failed once they have', async () => {
      const domain = await register();
      clock.advance(72 * HOUR);

      const { body } = await verify(domain.domain_id);

      assert.equal(body.verification_status, 'Failed');
      assert.equal(body.verified_at, null);
    });
  });

  describe('when the records appear after the domain failed', () => {
    it('turns Failed to Success', async () => {
      const domain = await register();
      clock.advance(73 * HOUR);
      await verify(domain.domain_id);
      dns.publish(domain.dns_records);

      const { body } = await verify(domain.domain_id);

      assert.equal(body.verification_status, 'Success');
    });
  });

  describe('after a check', () => {
    it('GET shows the same statuses and record checks', async () => {
      const domain = await register();
      dns.publish(domain.dns_records.slice(0, 2));
      const checked = await verify(domain.domain_id);

      const res = await request(service.url, 'GET', `/api/v1/domains/${domain.domain_id}`, {
        token,
      });

      assert.deepEqual(res.body, checked.body);
    });
  });

  describe('when the service restarts', () => {
    it('reads the new status and the record checks back', async () => {
      await service.close();
      const dataDir = makeTempDir();
      const secret = randomBytes(32).toString('hex');
      const start = () =>
        startTestService({ ...env(), NUMONIC_JWT_SECRET: secret }, { clock, dataDir });
      try {
        service = await start();
        token = await service.token();
        const domain = await register();
        dns.publish(domain.dns_records);
        const checked = await verify(domain.domain_id);
        await service.close();

        service = await start();
        const res = await request(service.url, 'GET', `/api/v1/domains/${domain.domain_id}`, {
          token,
        });

        assert.equal(res.body.verification_status, 'Success');
        assert.deepEqual(res.body, checked.body);
      } finally {
        await service.close();
        removeTempDir(dataDir);
      }
    });
  });

  describe('when the domain belongs to another tenant', () => {
    it('answers 404 NOT_FOUND', async () => {
      const domain = await register();

      const res = await verify(domain.domain_id, await service.token());

      assert.equal(res.status, 404);
      assert.equal(res.body.error.code, 'NOT_FOUND');
    });
  });

  describe('when the domain does not exist', () => {
    it('answers 404 NOT_FOUND', async () => {
      const res = await request(service.url, 'POST', '/api/v1/domains/999999/verify', { token });

      assert.equal(res.status, 404);
      assert.equal(res.body.error.code, 'NOT_FOUND');
    });
  });

  describe('without a token', () => {
    it('answers 401 UNAUTHORIZED', async () => {
      const domain = await register();

      const res = await request(service.url, 'POST', `/api/v1/domains/${domain.domain_id}/verify`);

      assert.equal(res.status, 401);
      assert.equal(res.body.error.code, 'UNAUTHORIZED');
    });
  });

  describe('when called more often than NUMONIC_VERIFY_PER_MINUTE', () => {
    beforeEach(async () => {
      await service.close();
      service = await startTestService({ ...env(), NUMONIC_VERIFY_PER_MINUTE: '2' }, { clock });
      token = await service.token();
    });

    it('answers 429 RATE_LIMITED with Retry-After', async () => {
      const domain = await register();
      await verify(domain.domain_id);
      await verify(domain.domain_id);

      const res = await verify(domain.domain_id);

      assert.equal(res.status, 429);
      assert.equal(res.body.error.code, 'RATE_LIMITED');
      assert.equal(res.headers.get('retry-after'), '30');
    });

    it('limits each domain on its own', async () => {
      const busy = await register();
      const other = await register();
      await verify(busy.domain_id);
      await verify(busy.domain_id);

      const res = await verify(other.domain_id);

      assert.equal(res.status, 200);
    });

    it("spends nothing of the domain's allowance on another tenant's calls", async () => {
      const domain = await register();
      const stranger = await service.token();
      await verify(domain.domain_id, stranger);
      await verify(domain.domain_id, stranger);

      const res = await verify(domain.domain_id);

      assert.equal(res.status, 200);
    });

    it('allows the domain again once the minute has refilled it', async () => {
      const domain = await register();
      await verify(domain.domain_id);
      await verify(domain.domain_id);
      clock.advance(30_000);

      const res = await verify(domain.domain_id);

      assert.equal(res.status, 200);
    });
  });
});

describe('POST /api/v1/domains/:id/verify in aws mode', () => {
  let aws: FakeAws;
  let restoreEnv: () => void;
  let dns: TestDnsServer;
  let service: TestService;
  let token: string;

  before(async () => {
    dns = await TestDnsServer.start();
    aws = await startFakeAws({ configurationSets: ['numonic-test'] });
    restoreEnv = aws.useEnv();
    service = await startTestService({
      NUMONIC_SES_MODE: 'aws',
      NUMONIC_CONFIGURATION_SET: 'numonic-test',
      NUMONIC_SES_TIMEOUT_MS: '300',
      NUMONIC_SES_MAX_ATTEMPTS: '2',
      NUMONIC_DNS_SERVERS: dns.address,
      NUMONIC_DNS_TIMEOUT_MS: '300',
    });
    token = await service.token();
  });
  after(async () => {
    await service.close();
    restoreEnv();
    await aws.close();
    await dns.close();
  });

  const register = async () => {
    const name = `aws-verify-${randomUUID().slice(0, 8)}.com`;
    const res = await request(service.url, 'POST', '/api/v1/domains', {
      token,
      body: { domain_name: name },
    });
    assert.equal(res.status, 201);
    return res.body;
  };
  const verify = (id: number) =>
    request(service.url, 'POST', `/api/v1/domains/${id}/verify`, { token });

  describe('when SES reports the identity verified', () => {
    it('answers Success, whatever the records say', async () => {
      const domain = await register();
      aws.setVerificationStatus(domain.domain_name, 'SUCCESS');

      const { body } = await verify(domain.domain_id);

      assert.equal(body.verification_status, 'Success');
      assert.deepEqual(
        body.dns_records.map((record: any) => record.status),
        ['pending', 'pending', 'pending', 'pending'],
      );
    });
  });

  describe('when every record is published but SES still says pending', () => {
    it('stays Pending with every record verified', async () => {
      const domain = await register();
      dns.publish(domain.dns_records);

      const { body } = await verify(domain.domain_id);

      assert.equal(body.verification_status, 'Pending');
      assert.deepEqual(
        body.dns_records.map((record: any) => record.status),
        ['verified', 'verified', 'verified', 'verified'],
      );
    });
  });

  describe('when SES keeps failing', () => {
    it('answers 503 UPSTREAM_UNAVAILABLE and stores nothing', async () => {
      const domain = await register();
      aws.inject('GetEmailIdentity', { status: 500 }, { status: 500 });

      const res = await verify(domain.domain_id);

      assert.equal(res.status, 503);
      assert.equal(res.body.error.code, 'UPSTREAM_UNAVAILABLE');
      assert.equal(service.store.get(domain.domain_id)?.checkedAt, undefined);
    });
  });
});

describe('GET /openapi.json for verify-now', () => {
  let service: TestService;
  let doc: any;

  before(async () => {
    service = await startTestService();
    doc = (await request(service.url, 'GET', '/openapi.json')).body;
  });
  after(() => service.close());

  it('documents POST /api/v1/domains/{id}/verify with its 200, 404 and 429', () => {
    const { responses } = doc.paths['/api/v1/domains/{id}/verify'].post;

    const detail = responses['200'].content['application/json'].schema;
    assert.equal(detail.$ref, '#/components/schemas/DomainDetail');
    assert.ok(responses['404']);
    assert.ok(responses['429']);
  });

  it('documents the status and found of each DNS record', () => {
    const { properties } = doc.components.schemas.DnsRecord;

    assert.deepEqual(properties.status.enum, ['verified', 'pending', 'mismatch']);
    assert.equal(properties.found.items.type, 'string');
  });
});
