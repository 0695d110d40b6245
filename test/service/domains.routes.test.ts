import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';

import { ApiError } from '../../service/errors';
import type { SesIdentities } from '../../service/ses/identities';
import { SimulatedSesIdentities } from '../../service/ses/simulated';
import { postExpectingContinue, request } from '../helpers/http';
import { startTestService, type TestService } from '../helpers/service';

const SEED_LIST_FIELDS = [
  'domain_id',
  'tenant_id',
  'domain_name',
  'verification_status',
  'identity_arn',
  'configuration_set_name',
];

describe('the domains API', () => {
  let service: TestService;
  let token: string;
  let tenantId: string;

  const post = (body: unknown, as = token) =>
    request(service.url, 'POST', '/api/v1/domains', { token: as, body });

  before(async () => {
    service = await startTestService();
  });
  after(() => service.close());
  beforeEach(async () => {
    tenantId = randomUUID();
    token = await service.token(tenantId);
  });

  describe('POST /api/v1/domains', () => {
    it('answers 201 with the seed fields and four DNS records', async () => {
      const res = await post({ domain_name: 'register-me.com' });

      assert.equal(res.status, 201);
      assert.equal(res.body.tenant_id, tenantId);
      assert.equal(res.body.domain_name, 'register-me.com');
      assert.ok(Number.isInteger(res.body.domain_id) && res.body.domain_id > 0);
      assert.equal(
        res.body.identity_arn,
        'arn:aws:ses:us-east-1:000000000000:identity/register-me.com',
      );
      assert.equal(res.body.verification_status, 'Pending');
      assert.equal(res.body.configuration_set_name, 'numonic-emails');
      assert.match(res.headers.get('content-type') ?? '', /^application\/json; charset=utf-8/);
    });

    describe('from a client that waits for 100 Continue before sending the body', () => {
      it('asks for the body and answers 201', async () => {
        const res = await postExpectingContinue(service.url, '/api/v1/domains', {
          token,
          body: { domain_name: 'expects-continue.com' },
        });

        assert.equal(res.continued, true);
        assert.equal(res.status, 201);
        assert.equal(res.body.domain_name, 'expects-continue.com');
      });
    });

    it('returns the TXT verification record then three DKIM CNAMEs', async () => {
      const { body } = await post({ domain_name: 'records.com' });
      const [txt, ...dkim] = body.dns_records;

      assert.equal(body.dns_records.length, 4);
      assert.equal(txt.type, 'TXT');
      assert.equal(txt.name, '_amazonses.records.com');
      assert.match(txt.value, /^[A-Za-z0-9+/]{43}=$/);
      for (const record of dkim) {
        const token = record.name.split('.')[0];
        assert.equal(record.type, 'CNAME');
        assert.match(token, /^[a-z0-9]{32}$/);
        assert.equal(record.name, `${token}._domainkey.records.com`);
        assert.equal(record.value, `${token}.dkim.amazonses.com`);
      }
    });

    it('stores the normalized name: case, spaces, trailing dot and IDN', async () => {
      const { status, body } = await post({ domain_name: '  Bücher.DE. ' });

      assert.equal(status, 201);
      assert.equal(body.domain_name, 'xn--bcher-kva.de');
      assert.equal(body.dns_records[0].name, '_amazonses.xn--bcher-kva.de');
    });

    it('assigns increasing ids', async () => {
      const first = await post({ domain_name: 'first-of-two.com' });
      const second = await post({ domain_name: 'second-of-two.com' });

      assert.ok(second.body.domain_id > first.body.domain_id);
    });

    describe('when the domain is already registered by the same tenant', () => {
      it('answers 409 CONFLICT', async () => {
        await post({ domain_name: 'twice.com' });
        const res = await post({ domain_name: 'twice.com' });

        assert.equal(res.status, 409);
        assert.equal(res.body.error.code, 'CONFLICT');
      });
    });

    describe('when the domain belongs to another tenant', () => {
      it('answers 409 CONFLICT, comparing normalized names', async () => {
        await post({ domain_name: 'taken.com' });
        const other = await service.token();
        const res = await post({ domain_name: 'TAKEN.com.' }, other);

        assert.equal(res.status, 409);
        assert.equal(res.body.error.code, 'CONFLICT');
      });
    });

    describe('when 30 requests race for one name', () => {
      it('registers it once and answers 409 to the other 29', async () => {
        const racing = await startTestService({ NUMONIC_SIMULATED_SES_DELAY_MS: '20' });
        try {
          const tokens = await Promise.all(Array.from({ length: 30 }, () => racing.token()));
          const results = await Promise.all(
            tokens.map((racer) =>
              request(racing.url, 'POST', '/api/v1/domains', {
                token: racer,
                body: { domain_name: 'contested.com' },
              }),
            ),
          );
          const statuses = results.map((res) => res.status).sort();

          assert.deepEqual(statuses, [201, ...Array<number>(29).fill(409)]);
          assert.equal(racing.store.size, 1);
        } finally {
          await racing.close();
        }
      });
    });

    describe('when the body is invalid', () => {
      const cases: [string, unknown, string][] = [
        ['a malformed domain', { domain_name: 'not a domain' }, 'domain_name'],
        ['a public suffix', { domain_name: 'co.uk' }, 'domain_name'],
        ['an IP address', { domain_name: '10.0.0.1' }, 'domain_name'],
        ['a number for domain_name', { domain_name: 42 }, 'domain_name'],
        ['a missing domain_name', {}, 'domain_name'],
        ['an unknown field', { domain_name: 'ok.com', tenant_id: randomUUID() }, 'tenant_id'],
        ['an array body', ['ok.com'], 'body'],
      ];
      for (const [what, body, path] of cases) {
        it(`answers 422 VALIDATION_ERROR for ${what}`, async () => {
          const res = await post(body);

          assert.equal(res.status, 422);
          assert.equal(res.body.error.code, 'VALIDATION_ERROR');
          assert.ok(Array.isArray(res.body.error.details) && res.body.error.details.length > 0);
          assert.equal(res.body.error.details[0].path, path);
        });
      }

      it('stores nothing', async () => {
        const before = service.store.size;
        await post({ domain_name: 'bad..name.com' });

        assert.equal(service.store.size, before);
      });
    });

    describe('when the JSON is malformed', () => {
      it('answers 400 BAD_REQUEST', async () => {
        const res = await post('{"domain_name": ');

        assert.equal(res.status, 400);
        assert.equal(res.body.error.code, 'BAD_REQUEST');
      });
    });

    describe('when the body is not application/json', () => {
      it('answers 400 BAD_REQUEST', async () => {
        const res = await request(service.url, 'POST', '/api/v1/domains', {
          token,
          body: 'domain_name=plain.com',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
        });

        assert.equal(res.status, 400);
        assert.equal(res.body.error.code, 'BAD_REQUEST');
      });
    });

    describe('when the body is over 16 KiB', () => {
      it('answers 413 PAYLOAD_TOO_LARGE', async () => {
        const res = await post({ domain_name: 'big.com', padding: 'x'.repeat(17 * 1024) });

        assert.equal(res.status, 413);
        assert.equal(res.body.error.code, 'PAYLOAD_TOO_LARGE');
      });
    });
  });

  describe('GET /api/v1/domains', () => {
    it("lists only the caller's domains, ascending domain_id, with the seed's fields", async () => {
      const b = await post({ domain_name: 'list-b.com' });
      const a = await post({ domain_name: 'list-a.com' });
      await post({ domain_name: 'list-other.com' }, await service.token());

      const res = await request(service.url, 'GET', '/api/v1/domains', { token });

      assert.equal(res.status, 200);
      assert.deepEqual(
        res.body.map((domain: { domain_id: number }) => domain.domain_id),
        [b.body.domain_id, a.body.domain_id],
      );
      for (const domain of res.body) {
        for (const field of SEED_LIST_FIELDS) assert.ok(field in domain, `missing ${field}`);
        assert.equal(domain.tenant_id, tenantId);
      }
    });

    it('answers an empty array for a new tenant', async () => {
      const res = await request(service.url, 'GET', '/api/v1/domains', { token });

      assert.equal(res.status, 200);
      assert.deepEqual(res.body, []);
    });
  });

  describe('GET /api/v1/domains/:id', () => {
    it('answers the domain with its DNS records', async () => {
      const created = await post({ domain_name: 'details.com' });
      const res = await request(service.url, 'GET', `/api/v1/domains/${created.body.domain_id}`, {
        token,
      });

      assert.equal(res.status, 200);
      assert.deepEqual(res.body.dns_records, created.body.dns_records);
      for (const field of SEED_LIST_FIELDS) assert.equal(res.body[field], created.body[field]);
    });

    const notFound: [string, string][] = [
      ['an unknown id', '/api/v1/domains/999999'],
      ['a non-numeric id', '/api/v1/domains/abc'],
      ['a zero-padded id', '/api/v1/domains/01'],
      ['an id beyond safe integers', '/api/v1/domains/99999999999999999999'],
      ['an id that is not valid percent-encoding', '/api/v1/domains/%E0'],
    ];
    for (const [what, path] of notFound) {
      it(`answers 404 NOT_FOUND for ${what}`, async () => {
        const res = await request(service.url, 'GET', path, { token });

        assert.equal(res.status, 404);
        assert.equal(res.body.error.code, 'NOT_FOUND');
      });
    }

    describe("when the domain is another tenant's", () => {
      it('answers 404 NOT_FOUND', async () => {
        const created = await post({ domain_name: 'private.com' });
        const res = await request(service.url, 'GET', `/api/v1/domains/${created.body.domain_id}`, {
          token: await service.token(),
        });

        assert.equal(res.status, 404);
        assert.equal(res.body.error.code, 'NOT_FOUND');
      });
    });
  });

  describe('DELETE /api/v1/domains/:id', () => {
    it('answers {"success": true} and forgets the domain', async () => {
      const created = await post({ domain_name: 'delete-me.com' });
      const path = `/api/v1/domains/${created.body.domain_id}`;

      const res = await request(service.url, 'DELETE', path, { token });
      const after = await request(service.url, 'GET', path, { token });

      assert.equal(res.status, 200);
      assert.deepEqual(res.body, { success: true });
      assert.equal(after.status, 404);
    });

    it('frees the name for a new registration with a new id', async () => {
      const created = await post({ domain_name: 'reuse.com' });
      await request(service.url, 'DELETE', `/api/v1/domains/${created.body.domain_id}`, { token });
      const again = await post({ domain_name: 'reuse.com' });

      assert.equal(again.status, 201);
      assert.ok(again.body.domain_id > created.body.domain_id);
    });

    describe("when the domain is another tenant's", () => {
      it('answers 404 NOT_FOUND and keeps it', async () => {
        const created = await post({ domain_name: 'not-yours.com' });
        const path = `/api/v1/domains/${created.body.domain_id}`;

        const res = await request(service.url, 'DELETE', path, { token: await service.token() });

        assert.equal(res.status, 404);
        assert.equal(res.body.error.code, 'NOT_FOUND');
        assert.equal((await request(service.url, 'GET', path, { token })).status, 200);
      });
    });

    it('answers 404 NOT_FOUND for an unknown id', async () => {
      const res = await request(service.url, 'DELETE', '/api/v1/domains/424242', { token });

      assert.equal(res.status, 404);
      assert.equal(res.body.error.code, 'NOT_FOUND');
    });
  });

  describe('an unknown route', () => {
    it('answers 404 NOT_FOUND in the error body under /api/v1', async () => {
      const res = await request(service.url, 'GET', '/api/v1/nothing-here', { token });

      assert.equal(res.status, 404);
      assert.equal(res.body.error.code, 'NOT_FOUND');
    });

    it('answers 404 NOT_FOUND in the error body elsewhere', async () => {
      const res = await request(service.url, 'GET', '/nothing-here');

      assert.equal(res.status, 404);
      assert.equal(res.body.error.code, 'NOT_FOUND');
    });
  });

  describe('GET /healthz', () => {
    it('answers {"status": "ok"} without a token', async () => {
      const res = await request(service.url, 'GET', '/healthz');

      assert.equal(res.status, 200);
      assert.deepEqual(res.body, { status: 'ok' });
    });
  });
});

describe('the per-tenant rate limit', () => {
  let service: TestService;

  before(async () => {
    service = await startTestService({ NUMONIC_RATE_LIMIT_PER_MINUTE: '3' });
  });
  after(() => service.close());

  it('answers 429 RATE_LIMITED with Retry-After once the tenant spent its minute', async () => {
    const token = await service.token();
    for (let i = 0; i < 3; i += 1) {
      assert.equal((await request(service.url, 'GET', '/api/v1/domains', { token })).status, 200);
    }
    const res = await request(service.url, 'GET', '/api/v1/domains', { token });

    assert.equal(res.status, 429);
    assert.equal(res.body.error.code, 'RATE_LIMITED');
    assert.ok(Number(res.headers.get('retry-after')) >= 1);
  });

  it('counts each tenant separately', async () => {
    const busy = await service.token();
    for (let i = 0; i < 4; i += 1)
      await request(service.url, 'GET', '/api/v1/domains', { token: busy });
    const res = await request(service.url, 'GET', '/api/v1/domains', {
      token: await service.token(),
    });

    assert.equal(res.status, 200);
  });
});

/** Simulated SES with failures switched on by the test: a narrow stand-in for an SES outage. */
class FlakySes extends SimulatedSesIdentities {
  failCreate: Error | undefined;
  failDelete: Error | undefined;
  readonly deleted: string[] = [];

  constructor() {
    super({ region: 'us-east-1' });
  }

  override async create(name: string) {
    if (this.failCreate !== undefined) throw this.failCreate;
    return super.create(name);
  }

  override async delete(name: string) {
    if (this.failDelete !== undefined) throw this.failDelete;
    this.deleted.push(name);
  }
}

describe('the domains API when SES fails', () => {
  let service: TestService;
  let ses: FlakySes;
  let token: string;

  before(async () => {
    ses = new FlakySes();
    service = await startTestService({}, { ses: ses as SesIdentities });
  });
  after(() => service.close());
  beforeEach(async () => {
    ses.failCreate = undefined;
    ses.failDelete = undefined;
    token = await service.token();
  });

  describe('POST when SES is unavailable', () => {
    it('answers 503 UPSTREAM_UNAVAILABLE and stores nothing', async () => {
      ses.failCreate = new ApiError('UPSTREAM_UNAVAILABLE', 'SES did not answer.');
      const res = await request(service.url, 'POST', '/api/v1/domains', {
        token,
        body: { domain_name: 'outage.com' },
      });

      assert.equal(res.status, 503);
      assert.equal(res.body.error.code, 'UPSTREAM_UNAVAILABLE');
      assert.equal(service.store.findByName('outage.com'), undefined);
    });
  });

  describe('POST when SES throws something unexpected', () => {
    it('answers 500 INTERNAL_ERROR with a generic message', async () => {
      ses.failCreate = new Error('secret internal detail');
      const res = await request(service.url, 'POST', '/api/v1/domains', {
        token,
        body: { domain_name: 'bug.com' },
      });

      assert.equal(res.status, 500);
      assert.equal(res.body.error.code, 'INTERNAL_ERROR');
      assert.doesNotMatch(JSON.stringify(res.body), /secret internal detail/);
    });
  });

  describe('DELETE when SES is unavailable', () => {
    it('answers 503 and keeps the record, so a retry succeeds', async () => {
      const created = await request(service.url, 'POST', '/api/v1/domains', {
        token,
        body: { domain_name: 'retry-delete.com' },
      });
      const path = `/api/v1/domains/${created.body.domain_id}`;

      ses.failDelete = new ApiError('UPSTREAM_UNAVAILABLE', 'SES did not answer.');
      const failed = await request(service.url, 'DELETE', path, { token });
      const kept = await request(service.url, 'GET', path, { token });
      ses.failDelete = undefined;
      const retried = await request(service.url, 'DELETE', path, { token });

      assert.equal(failed.status, 503);
      assert.equal(failed.body.error.code, 'UPSTREAM_UNAVAILABLE');
      assert.equal(kept.status, 200);
      assert.equal(retried.status, 200);
      assert.ok(ses.deleted.includes('retry-delete.com'));
    });
  });
});
