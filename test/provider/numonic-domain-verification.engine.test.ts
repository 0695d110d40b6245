import assert from 'node:assert/strict';

import { NumonicDomainVerification } from '../../provider';
import { request } from '../helpers/http';
import {
  HostCallError,
  UNKNOWN,
  providerTextOf,
  startProviderHost,
  withoutProvider,
  type ProviderHost,
  type Props,
} from '../helpers/provider-host';
import { TestDnsServer } from '../helpers/dns-server';
import { startTestService, type TestService } from '../helpers/service';
import { errorBody, sendJson, startStubApi, type StubApi, type StubHandler } from './stub-api';

const TYPE = 'pulumi-nodejs:dynamic/numonic:NumonicDomainVerification';
const TOKEN = 'eyJhbGciOiJIUzI1NiJ9.eyJ0ZW5hbnRfaWQiOiJ2ZXJpZnkifQ.c3R1Yi1zaWduYXR1cmU';
const VERIFIED_AT = '2026-01-02T03:04:05.000Z';

/** A domain as `GET /api/v1/domains/42` answers it, with per-record DNS checks. */
function domain(status: string, records: Props[] = []): Props {
  return {
    domain_id: 42,
    tenant_id: '550e8400-e29b-41d4-a716-446655440000',
    domain_name: 'yourapp.com',
    verification_status: status,
    identity_arn: 'arn:aws:ses:us-east-1:000000000000:identity/yourapp.com',
    configuration_set_name: 'numonic-emails',
    verified_at: status === 'Success' ? VERIFIED_AT : null,
    dns_records: records,
  };
}

const RECORDS = [
  { type: 'TXT', name: '_amazonses.yourapp.com', value: 'txt-token', status: 'pending' },
  {
    type: 'CNAME',
    name: 'aaa._domainkey.yourapp.com',
    value: 'aaa.dkim.amazonses.com',
    status: 'mismatch',
    found: ['elsewhere.example.net'],
  },
  {
    type: 'CNAME',
    name: 'bbb._domainkey.yourapp.com',
    value: 'bbb.dkim.amazonses.com',
    status: 'verified',
  },
  { type: 'CNAME', name: 'ccc._domainkey.yourapp.com', value: 'ccc.dkim.amazonses.com' },
];

/** A service whose GET answers each status in turn (the last one repeats), verify-now as given. */
function scripted(statuses: string[], verifyNow: StubHandler): StubHandler {
  let gets = 0;
  return (request, response, hit) => {
    if (request.method === 'POST' && request.url === '/api/v1/domains/42/verify') {
      return verifyNow(request, response, hit);
    }
    if (request.method === 'GET' && request.url === '/api/v1/domains/42') {
      const status = statuses[Math.min(gets, statuses.length - 1)] ?? 'Pending';
      gets += 1;
      return sendJson(response, 200, domain(status, RECORDS));
    }
    sendJson(response, 404, errorBody('NOT_FOUND', 'No such route.'));
  };
}

const noVerifyEndpoint: StubHandler = (_request, response) =>
  sendJson(response, 404, errorBody('NOT_FOUND', 'No such route.'));

async function failureOf(promise: Promise<unknown>): Promise<HostCallError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof HostCallError, `expected a failed host call, got ${String(error)}`);
    return error;
  }
  assert.fail('the call succeeded');
}

describe('NumonicDomainVerification over the engine protocol', function () {
  this.timeout(30_000);

  let providerText: string;
  let host: ProviderHost;
  let stub: StubApi | undefined;

  const inputs = (extra: Props = {}): Props => ({
    domainId: 42,
    apiUrl: stub?.url,
    apiToken: TOKEN,
    timeoutSeconds: 5,
    pollIntervalSeconds: 0.05,
    ...extra,
  });

  before(async () => {
    providerText = await providerTextOf('NumonicDomainVerification', () => {
      return new NumonicDomainVerification('verified', { domainId: 1 });
    });
    host = await startProviderHost({ providerText, type: TYPE });
  });
  after(() => host.close());
  afterEach(async () => {
    await stub?.close();
    stub = undefined;
  });

  describe('when the service reports Success', () => {
    it('creates once the status turns Success, with the outputs and verifiedAt', async () => {
      stub = await startStubApi(scripted(['Pending', 'Pending', 'Success'], noVerifyEndpoint));

      const created = await host.create(inputs());

      assert.equal(created.id, '42');
      assert.deepEqual(withoutProvider(created.properties), {
        ...inputs(),
        domainId: 42,
        domainName: 'yourapp.com',
        verificationStatus: 'Success',
        verifiedAt: VERIFIED_AT,
      });
      assert.equal(stub.requests.filter((request) => request.method === 'GET').length, 3);
    });

    it('asks the service to verify now first, and polls without that endpoint', async () => {
      stub = await startStubApi(scripted(['Pending', 'Success'], noVerifyEndpoint));

      await host.create(inputs());

      assert.deepEqual(
        stub.requests.map((request) => `${request.method} ${request.url}`),
        ['POST /api/v1/domains/42/verify', 'GET /api/v1/domains/42', 'GET /api/v1/domains/42'],
      );
    });

    it('tolerates a 429 from verify-now without retrying it', async () => {
      const limited: StubHandler = (_request, response) =>
        sendJson(response, 429, errorBody('RATE_LIMITED', 'Slow down.'), { 'retry-after': '60' });
      stub = await startStubApi(scripted(['Success'], limited));

      const started = Date.now();
      await host.create(inputs());

      assert.ok(Date.now() - started < 5_000);
      assert.equal(stub.requests.filter((request) => request.method === 'POST').length, 1);
    });
  });

  describe('when the records are never found', () => {
    it('fails after the timeout, naming each record still missing', async () => {
      stub = await startStubApi(scripted(['Pending'], noVerifyEndpoint));
      const started = Date.now();

      const error = await failureOf(host.create(inputs({ timeoutSeconds: 0.4 })));

      assert.ok(Date.now() - started < 5_000);
      assert.match(error.message, /Domain 42 \(yourapp\.com\) is not verified after 0\.4 s/);
      assert.match(error.message, /TXT _amazonses\.yourapp\.com = "txt-token" \(status: pending\)/);
      assert.ok(
        error.message.includes(
          'CNAME aaa._domainkey.yourapp.com = "aaa.dkim.amazonses.com" ' +
            '(status: mismatch; DNS answered: "elsewhere.example.net")',
        ),
      );
      assert.ok(error.message.includes('CNAME ccc._domainkey.yourapp.com = "ccc.dkim.'));
      assert.doesNotMatch(error.message, /bbb\._domainkey/);
      assert.ok(!error.message.includes(TOKEN));
    });
  });

  describe('when the service reports Failed', () => {
    it('fails at once, naming the records still missing', async () => {
      stub = await startStubApi(scripted(['Failed'], noVerifyEndpoint));

      const error = await failureOf(host.create(inputs({ timeoutSeconds: 60 })));

      assert.match(error.message, /failed verification \(status Failed\)/);
      assert.match(error.message, /TXT _amazonses\.yourapp\.com/);
    });
  });

  describe('against the real service, which keeps a new domain Pending', () => {
    it('fails on timeout, listing all four records', async () => {
      const service = await startTestService();
      try {
        const token = await service.token();
        const registered = await request(service.url, 'POST', '/api/v1/domains', {
          token,
          body: { domain_name: 'pending.yourapp.com' },
        });
        const id = registered.body.domain_id as number;

        const error = await failureOf(
          host.create({
            domainId: String(id),
            apiUrl: service.url,
            apiToken: token,
            timeoutSeconds: 0.3,
            pollIntervalSeconds: 0.1,
          }),
        );

        assert.ok(error.message.includes(`Domain ${id} (pending.yourapp.com) is not verified`));
        assert.equal(error.message.match(/^  (TXT|CNAME) /gm)?.length, 4);
      } finally {
        await service.close();
      }
    });
  });

  describe('against the real service and a DNS server on loopback', () => {
    let dns: TestDnsServer;
    let service: TestService;
    let token: string;
    let registered: { domain_id: number; dns_records: Props[] };

    before(async () => {
      dns = await TestDnsServer.start();
      service = await startTestService({ NUMONIC_DNS_SERVERS: dns.address });
      token = await service.token();
      const { body } = await request(service.url, 'POST', '/api/v1/domains', {
        token,
        body: { domain_name: 'mail.yourapp.com' },
      });
      registered = body;
    });
    after(async () => {
      await service.close();
      await dns.close();
    });

    const verify = () =>
      host.create({
        domainId: registered.domain_id,
        apiUrl: service.url,
        apiToken: token,
        timeoutSeconds: 1,
        pollIntervalSeconds: 0.1,
      });

    it('fails before the records are served, saying which record is wrong and what DNS found', async () => {
      const [txt, wrong, ...rest] = registered.dns_records as { name: string; value: string }[];
      dns.publish(rest.map((record) => ({ ...record, type: 'CNAME' })));
      dns.setCname(wrong!.name, 'elsewhere.example.net');

      const error = await failureOf(verify());

      assert.match(error.message, new RegExp(`TXT ${txt!.name}.*pending`));
      assert.match(
        error.message,
        new RegExp(`CNAME ${wrong!.name}.*mismatch.*elsewhere\\.example\\.net`),
      );
      assert.equal(error.message.match(/^  (TXT|CNAME) /gm)?.length, 2);
    });

    it('succeeds once every record is served', async () => {
      dns.clear();
      dns.publish(registered.dns_records as { type: string; name: string; value: string }[]);

      const created = await verify();

      assert.equal(created.properties.verificationStatus, 'Success');
      assert.equal(created.properties.domainName, 'mail.yourapp.com');
      assert.match(String(created.properties.verifiedAt), /^\d{4}-\d{2}-\d{2}T/);
    });
  });

  describe('check', () => {
    it('accepts a numeric string id and returns it as a number', async () => {
      const checked = await host.check({}, { domainId: '42' });

      assert.deepEqual(checked.failures, []);
      assert.equal(checked.inputs.domainId, 42);
    });

    it('returns failures for a bad id and bad durations instead of throwing', async () => {
      const checked = await host.check(
        {},
        { domainId: 'forty-two', timeoutSeconds: -1, pollIntervalSeconds: 'soon' },
      );

      assert.deepEqual(checked.failures.map((failure) => failure.property).sort(), [
        'domainId',
        'pollIntervalSeconds',
        'timeoutSeconds',
      ]);
    });

    it('lets an id that is not known yet through, as in a preview', async () => {
      const checked = await host.check({}, { domainId: UNKNOWN });

      assert.deepEqual(checked.failures, []);
    });
  });

  describe('diff', () => {
    const news = { domainId: 42, apiToken: TOKEN, timeoutSeconds: 5 };
    const state = { ...domain('Success'), ...news };

    it('replaces on a new domainId', async () => {
      const diff = await host.diff('42', state, { ...news, domainId: 43 });

      assert.deepEqual(diff.replaces, ['domainId']);
      assert.equal(diff.deleteBeforeReplace, false);
    });

    it('updates in place when only the credentials or durations change', async () => {
      const diff = await host.diff('42', state, { ...news, domainId: '42', apiToken: 'rotated' });

      assert.deepEqual(diff, { changes: 'some', replaces: [], deleteBeforeReplace: false });
    });

    it('finds no changes for the same inputs', async () => {
      const diff = await host.diff('42', state, news);

      assert.equal(diff.changes, 'none');
    });
  });

  describe('refresh', () => {
    const state = (): Props => ({
      ...inputs(),
      domainName: 'yourapp.com',
      verificationStatus: 'Success',
      verifiedAt: VERIFIED_AT,
    });

    it('keeps the state while the domain is verified', async () => {
      stub = await startStubApi(scripted(['Success'], noVerifyEndpoint));

      const read = await host.read('42', state());

      assert.equal(read.id, '42');
      assert.deepEqual(withoutProvider(read.properties), state());
    });

    it('reads as gone once the domain is no longer verified, so the next up waits', async () => {
      stub = await startStubApi(scripted(['Pending'], noVerifyEndpoint));

      const read = await host.read('42', state());

      assert.equal(read.id, '');
    });

    it('reads as gone when the domain no longer exists', async () => {
      stub = await startStubApi(noVerifyEndpoint);

      const read = await host.read('42', state());

      assert.equal(read.id, '');
    });
  });

  describe('update', () => {
    it('keeps the outputs and stores the new inputs without calling the service', async () => {
      stub = await startStubApi(noVerifyEndpoint);
      const olds = {
        ...inputs(),
        domainName: 'yourapp.com',
        verificationStatus: 'Success',
        verifiedAt: VERIFIED_AT,
      };

      const updated = await host.update('42', olds, inputs({ timeoutSeconds: 60 }));

      assert.deepEqual(withoutProvider(updated.properties), { ...olds, timeoutSeconds: 60 });
      assert.equal(stub.requests.length, 0);
    });
  });

  describe('delete', () => {
    it('deletes nothing remote', async () => {
      stub = await startStubApi(noVerifyEndpoint);

      await host.delete('42', inputs());

      assert.equal(stub.requests.length, 0);
    });
  });
});
