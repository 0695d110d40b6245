import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';

import { NumonicDomain } from '../../provider';
import { request } from '../helpers/http';
import {
  HostCallError,
  UNKNOWN,
  providerTextInChild,
  providerTextOf,
  secret,
  startProviderHost,
  withoutProvider,
  type HostOptions,
  type ProviderHost,
  type Props,
} from '../helpers/provider-host';
import { makeTempDir, removeTempDir, startTestService, type TestService } from '../helpers/service';
import { closedPort } from './stub-api';

const TYPE = 'pulumi-nodejs:dynamic/numonic:NumonicDomain';
const OUTPUTS = [
  'domainId',
  'tenantId',
  'domainName',
  'identityArn',
  'verificationStatus',
  'configurationSetName',
  'dnsRecords',
  'verificationRecord',
  'dkimRecords',
];

const IN_PLACE = { changes: 'some', replaces: [], deleteBeforeReplace: false };
const REPLACE = { changes: 'some', replaces: ['domainName'], deleteBeforeReplace: false };

let names = 0;
/** A fresh name for each test, so tests never conflict with each other's domains. */
function uniqueName(label: string): string {
  names += 1;
  return `${label}-${names}-${randomUUID().slice(0, 8)}.yourapp.com`;
}

async function failureOf(promise: Promise<unknown>): Promise<HostCallError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof HostCallError, `expected a failed host call, got ${String(error)}`);
    return error;
  }
  assert.fail('the call succeeded');
}

describe('NumonicDomain over the engine protocol', function () {
  this.timeout(60_000);

  let service: TestService;
  let clockOffsetMs = 0;
  let providerText: string;
  let tenantId: string;
  let token: string;
  const hosts: ProviderHost[] = [];

  async function startHost(options: Partial<HostOptions> = {}): Promise<ProviderHost> {
    const host = await startProviderHost({ providerText, type: TYPE, ...options });
    hosts.push(host);
    return host;
  }

  /** What the engine does for a new resource: Check, then Create with the checked inputs. */
  async function register(host: ProviderHost, inputs: Props) {
    const checked = await host.check({}, inputs);
    assert.deepEqual(checked.failures, []);
    const created = await host.create(checked.inputs);
    return { inputs: checked.inputs, id: created.id, state: created.properties };
  }

  const credentials = () => ({ apiUrl: service.url, apiToken: token });
  const getDomain = (id: string, as = token) =>
    request(service.url, 'GET', `/api/v1/domains/${id}`, { token: as });
  const registerThroughApi = (domainName: string, as = token) => {
    const body = { domain_name: domainName };
    return request(service.url, 'POST', '/api/v1/domains', { token: as, body });
  };

  before(async () => {
    service = await startTestService({}, { clock: { now: () => Date.now() + clockOffsetMs } });
    providerText = await providerTextOf('NumonicDomain', () => {
      return new NumonicDomain('mail', { domainName: 'yourapp.com' });
    });
  });
  after(() => service.close());

  beforeEach(async () => {
    clockOffsetMs = 0;
    tenantId = randomUUID();
    token = await service.token(tenantId);
  });
  afterEach(async () => {
    await Promise.all(hosts.splice(0).map((host) => host.close()));
  });

  describe('the full lifecycle', () => {
    const owner = randomUUID();
    let ownerToken: string;
    let host: ProviderHost;
    let inputs: Props;
    let id: string;
    let state: Props;

    before(async () => {
      ownerToken = await service.token(owner);
      host = await startProviderHost({ providerText, type: TYPE });
    });
    after(() => host.close());

    it('checks the inputs and returns them with the name normalized', async () => {
      const name = uniqueName('Lifecycle').toUpperCase();

      const news = { domainName: ` ${name}. `, apiUrl: service.url, apiToken: ownerToken };

      const checked = await host.check({}, news);

      assert.deepEqual(checked.failures, []);
      assert.deepEqual(withoutProvider(checked.inputs), {
        domainName: name.toLowerCase(),
        apiUrl: service.url,
        apiToken: ownerToken,
      });
      inputs = checked.inputs;
    });

    it('creates the domain and returns every output of the contract', async () => {
      const created = await host.create(inputs);
      id = created.id;
      state = created.properties;

      const domainName = inputs.domainName as string;
      assert.equal(id, String(state.domainId));
      assert.deepEqual(
        OUTPUTS.filter((key) => !(key in state)),
        [],
      );
      assert.equal(typeof state.domainId, 'number');
      assert.equal(state.tenantId, owner);
      assert.equal(state.domainName, domainName);
      assert.equal(state.identityArn, `arn:aws:ses:us-east-1:000000000000:identity/${domainName}`);
      assert.equal(state.verificationStatus, 'Pending');
      assert.equal(state.configurationSetName, 'numonic-emails');
      assert.equal(state.apiUrl, service.url);
      assert.equal(state.apiToken, ownerToken);
    });

    it('returns {type, name, value} records: the TXT one, then three DKIM CNAMEs', async () => {
      const records = state.dnsRecords as { type: string; name: string; value: string }[];
      const dkimName = new RegExp(`^[a-z0-9]+\\._domainkey\\.${state.domainName}$`);

      assert.equal(records.length, 4);
      assert.deepEqual(
        records.map((record) => Object.keys(record).sort()),
        [
          ['name', 'type', 'value'],
          ['name', 'type', 'value'],
          ['name', 'type', 'value'],
          ['name', 'type', 'value'],
        ],
      );
      assert.deepEqual(state.verificationRecord, records[0]);
      assert.equal(records[0]?.type, 'TXT');
      assert.equal(records[0]?.name, `_amazonses.${state.domainName}`);
      assert.deepEqual(state.dkimRecords, records.slice(1));
      for (const record of records.slice(1)) {
        assert.equal(record.type, 'CNAME');
        assert.match(record.name, dkimName);
      }
    });

    it('reads the same outputs back, with the inputs for later diffs', async () => {
      const read = await host.read(id, state);

      assert.equal(read.id, id);
      assert.deepEqual(withoutProvider(read.properties), withoutProvider(state));
      assert.deepEqual(withoutProvider(read.inputs ?? {}), withoutProvider(inputs));
    });

    it('finds no changes between the state and the same inputs', async () => {
      const diff = await host.diff(id, state, inputs);

      assert.deepEqual(diff, { changes: 'none', replaces: [], deleteBeforeReplace: false });
    });

    it('updates in place, keeping the outputs and storing the new inputs', async () => {
      const news = { ...inputs, adopt: true };

      const diff = await host.diff(id, state, news);
      const updated = await host.update(id, state, news);

      assert.deepEqual(diff, IN_PLACE);
      assert.deepEqual(withoutProvider(updated.properties), {
        ...withoutProvider(state),
        adopt: true,
      });
      state = updated.properties;
    });

    it('deletes the domain', async () => {
      await host.delete(id, state);

      assert.equal((await getDomain(id, ownerToken)).status, 404);
    });
  });

  describe('diff', () => {
    let host: ProviderHost;
    let registered: Awaited<ReturnType<typeof register>>;

    beforeEach(async () => {
      host = await startHost();
      registered = await register(host, {
        domainName: uniqueName('diff'),
        apiUrl: service.url,
        apiToken: token,
      });
    });

    it('finds no changes for a new build of the provider', async () => {
      const news = { ...registered.inputs, __provider: `${providerText}\n// a later build\n` };

      const diff = await host.diff(registered.id, registered.state, news);

      assert.equal(diff.changes, 'none');
    });

    it('stores a new build with the next update, for later refresh and delete', async () => {
      const laterBuild = `${providerText}\n// a later build\n`;
      const news = { ...registered.inputs, adopt: true, __provider: laterBuild };

      const updated = await host.update(registered.id, registered.state, news);
      const read = await host.read(registered.id, updated.properties);

      assert.equal(updated.properties.__provider, laterBuild);
      assert.equal(read.properties.__provider, laterBuild);
    });

    it('finds no changes when the name differs only in case and a trailing dot', async () => {
      const name = `${(registered.inputs.domainName as string).toUpperCase()}.`;
      const news = { ...registered.inputs, domainName: name };
      const checked = await host.check(registered.inputs, news);

      const diff = await host.diff(registered.id, registered.state, checked.inputs);

      assert.equal(diff.changes, 'none');
    });

    it('updates in place when apiUrl or adopt changes', async () => {
      for (const change of [{ apiUrl: `${service.url}/` }, { adopt: false }]) {
        const news = { ...registered.inputs, ...change };

        const diff = await host.diff(registered.id, registered.state, news);

        assert.deepEqual(diff, IN_PLACE);
      }
    });

    it('replaces when the name is not known yet', async () => {
      const news = { ...registered.inputs, domainName: UNKNOWN };

      const diff = await host.diff(registered.id, registered.state, news);

      assert.deepEqual(diff.replaces, ['domainName']);
    });
  });

  describe('when the name changes', () => {
    it('replaces, creating the new domain before deleting the old one', async () => {
      const host = await startHost();
      const old = await register(host, { domainName: uniqueName('old'), ...credentials() });
      const renamed = { ...old.inputs, domainName: uniqueName('new') };
      const checked = await host.check(old.inputs, renamed);

      const diff = await host.diff(old.id, old.state, checked.inputs);
      const created = await host.create(checked.inputs);
      await host.delete(old.id, old.state);

      assert.deepEqual(diff, REPLACE);
      assert.notEqual(created.id, old.id);
      assert.equal((await getDomain(created.id)).status, 200);
      assert.equal((await getDomain(old.id)).status, 404);
    });
  });

  describe('when the engine creates the same name before deleting it', () => {
    // `pulumi up --replace`, `replaceOnChanges`, or a new logical name without an alias: the
    // engine creates the new resource, then deletes the old one, without asking diff.
    it('adopts the domain and keeps it registered when the old resource is deleted', async () => {
      const host = await startHost();
      const old = await register(host, { domainName: uniqueName('same'), ...credentials() });

      const created = await host.create({ ...old.inputs, adopt: true });
      await host.delete(old.id, old.state);

      assert.equal(created.id, old.id);
      assert.equal((await getDomain(old.id)).status, 200);
    });

    it('deletes the domain when the resource that adopted it is destroyed later', async () => {
      const host = await startHost();
      const old = await register(host, { domainName: uniqueName('same-later'), ...credentials() });
      const created = await host.create({ ...old.inputs, adopt: true });
      await host.delete(old.id, old.state);

      await host.delete(created.id, created.properties);

      assert.equal((await getDomain(old.id)).status, 404);
    });
  });

  describe('when the token was rotated', () => {
    it('updates in place and deletes with the new token after the old one expired', async () => {
      const oldToken = await service.token(tenantId, { expiresIn: '1h' });
      const newToken = await service.token(tenantId, { expiresIn: '30d' });
      const host = await startHost();
      const created = await register(host, {
        domainName: uniqueName('rotated'),
        apiUrl: service.url,
        apiToken: oldToken,
      });
      const news = { ...created.inputs, apiToken: newToken };

      const diff = await host.diff(created.id, created.state, news);
      const updated = await host.update(created.id, created.state, news);
      clockOffsetMs = 2 * 60 * 60 * 1000;
      const withOldToken = await getDomain(created.id, oldToken);
      await host.delete(created.id, updated.properties);

      assert.deepEqual(diff, IN_PLACE);
      assert.equal(updated.properties.apiToken, newToken);
      assert.equal(withOldToken.status, 401);
      assert.equal((await getDomain(created.id, newToken)).status, 404);
    });
  });

  describe('adopt', () => {
    it('takes over a domain this tenant registered outside Pulumi', async () => {
      const domainName = uniqueName('adopted');
      const existing = await registerThroughApi(domainName);
      const host = await startHost();

      const adopted = await register(host, { domainName, ...credentials(), adopt: true });

      const records = (existing.body.dns_records as Props[]).map(({ type, name, value }) => {
        return { type, name, value };
      });
      assert.equal(adopted.id, String(existing.body.domain_id));
      assert.deepEqual(adopted.state.dnsRecords, records);
      assert.equal(adopted.state.adopt, true);
    });

    it('without adopt, fails with CONFLICT and says how to take the domain over', async () => {
      const domainName = uniqueName('unadopted');
      await registerThroughApi(domainName);
      const host = await startHost();

      const error = await failureOf(host.create({ domainName, ...credentials() }));

      assert.match(error.message, /409 CONFLICT/);
      assert.match(error.message, /adopt: true/);
    });

    it("refuses a domain another tenant holds with the service's CONFLICT message", async () => {
      const domainName = uniqueName('taken');
      await registerThroughApi(domainName, await service.token());
      const host = await startHost();

      const error = await failureOf(host.create({ domainName, ...credentials(), adopt: true }));
      const list = await request(service.url, 'GET', '/api/v1/domains', { token });

      assert.match(error.message, /409 CONFLICT/);
      assert.doesNotMatch(error.message, /adopt/);
      assert.deepEqual(list.body, []);
    });
  });

  describe('when the domain was deleted through the API', () => {
    let host: ProviderHost;
    let registered: Awaited<ReturnType<typeof register>>;

    beforeEach(async () => {
      host = await startHost();
      registered = await register(host, {
        domainName: uniqueName('deleted'),
        apiUrl: service.url,
        apiToken: token,
      });
      await request(service.url, 'DELETE', `/api/v1/domains/${registered.id}`, { token });
    });

    it('reads as gone on refresh', async () => {
      const read = await host.read(registered.id, registered.state);

      assert.equal(read.id, '');
      assert.deepEqual(withoutProvider(read.properties), {});
    });

    it('deletes without an error', async () => {
      await host.delete(registered.id, registered.state);
    });

    it('fails an update with NOT_FOUND, pointing at pulumi refresh', async () => {
      const { id, state, inputs } = registered;

      const error = await failureOf(host.update(id, state, inputs));

      assert.match(error.message, /not found with these credentials/);
      assert.match(error.message, /pulumi refresh/);
    });
  });

  describe('credentials', () => {
    it('come from the resource inputs before the stack configuration', async () => {
      const otherTenant = await service.token();
      const host = await startHost({
        config: { 'numonic:apiUrl': 'http://127.0.0.1:9', 'numonic:apiToken': secret(otherTenant) },
      });

      const created = await register(host, {
        domainName: uniqueName('inputs'),
        apiUrl: service.url,
        apiToken: token,
      });

      assert.equal(created.state.tenantId, tenantId);
    });

    it('come from the stack configuration sent by Configure, and stay out of state', async () => {
      const host = await startHost({
        config: { 'numonic:apiUrl': service.url, 'numonic:apiToken': secret(token) },
      });

      const created = await register(host, { domainName: uniqueName('config') });
      const read = await host.read(created.id, created.state);
      await host.delete(created.id, created.state);

      assert.equal(created.state.tenantId, tenantId);
      assert.equal(read.id, created.id);
      assert.ok(!('apiToken' in created.state) && !('apiUrl' in created.state));
      assert.ok(!JSON.stringify(created.state).includes(token));
      assert.equal((await getDomain(created.id)).status, 404);
    });

    it('come from the stack configuration when refreshed and destroyed by a later run', async () => {
      const oldToken = await service.token(tenantId, { expiresIn: '1h' });
      const newToken = await service.token(tenantId, { expiresIn: '30d' });
      const firstRun = await startHost({
        config: { 'numonic:apiUrl': service.url, 'numonic:apiToken': secret(oldToken) },
      });
      const created = await register(firstRun, { domainName: uniqueName('rotated-config') });
      clockOffsetMs = 2 * 60 * 60 * 1000;

      // A later `pulumi refresh` and `pulumi destroy`: a new host, the state's provider text and
      // outputs, and the rotated token in the stack configuration only.
      const laterRun = await startHost({
        providerText: String(created.state.__provider),
        config: { 'numonic:apiUrl': service.url, 'numonic:apiToken': secret(newToken) },
      });
      const read = await laterRun.read(created.id, created.state);
      await laterRun.delete(created.id, read.properties);

      assert.equal(read.id, created.id);
      assert.equal((await getDomain(created.id, newToken)).status, 404);
    });

    it('come from the stack configuration before the environment', async () => {
      const otherTenant = await service.token();
      const host = await startHost({
        config: { 'numonic:apiUrl': service.url, 'numonic:apiToken': secret(token) },
        env: { NUMONIC_API_URL: 'http://127.0.0.1:9', NUMONIC_API_TOKEN: otherTenant },
      });

      const created = await register(host, { domainName: uniqueName('config-over-env') });
      await host.delete(created.id, created.state);

      assert.equal(created.state.tenantId, tenantId);
    });

    it('come from NUMONIC_API_URL and NUMONIC_API_TOKEN in the environment', async () => {
      const host = await startHost({
        env: { NUMONIC_API_URL: service.url, NUMONIC_API_TOKEN: token },
      });

      const created = await register(host, { domainName: uniqueName('env') });
      await host.delete(created.id, created.state);

      assert.equal(created.state.tenantId, tenantId);
      assert.equal((await getDomain(created.id)).status, 404);
    });

    it('may arrive wrapped as secrets, as a host that accepts secrets gets them', async () => {
      const host = await startHost({ sendSecretsWrapped: true });

      const created = await register(host, {
        domainName: uniqueName('wrapped'),
        apiUrl: service.url,
        apiToken: secret(token),
      });

      assert.equal(created.state.apiToken, token);
    });

    it('missing, fail the create with a message naming the three ways', async () => {
      const host = await startHost();

      const error = await failureOf(host.create({ domainName: uniqueName('nothing') }));

      assert.match(error.message, /apiToken/);
      assert.match(error.message, /pulumi config set --secret numonic:apiToken/);
      assert.match(error.message, /NUMONIC_API_TOKEN/);
    });
  });

  describe('the token', () => {
    it('is absent from the provider text, wherever the program holds it', async () => {
      const text = await providerTextInChild({
        module: require.resolve('../../provider'),
        exportName: 'NumonicDomain',
        args: { domainName: 'yourapp.com', apiUrl: service.url, apiToken: token },
        env: {
          NUMONIC_API_TOKEN: token,
          PULUMI_CONFIG: JSON.stringify({ 'numonic:apiToken': token }),
        },
      });

      assert.match(text, /^exports\.handler = /);
      assert.ok(!text.includes(token));
    });

    it('is absent from every output but apiToken itself', async () => {
      const host = await startHost();

      const created = await register(host, {
        domainName: uniqueName('outputs'),
        apiUrl: service.url,
        apiToken: token,
      });
      const { apiToken, ...others } = created.state;

      assert.equal(apiToken, token);
      assert.ok(!JSON.stringify(others).includes(token));
    });

    it('is absent from every error message and from what the host prints', async () => {
      const host = await startHost();
      const taken = uniqueName('taken-again');
      await registerThroughApi(taken);
      const expired = await service.token(tenantId, { expiresIn: '1m' });
      const down = `http://127.0.0.1:${await closedPort()}`;
      const url = service.url;
      clockOffsetMs = 60 * 60 * 1000;

      const errors = await Promise.all([
        failureOf(host.create({ domainName: taken, apiUrl: url, apiToken: token })),
        failureOf(host.create({ domainName: 'co.uk', apiUrl: url, apiToken: token })),
        failureOf(host.update('999999', {}, { domainName: taken, apiUrl: url, apiToken: token })),
        failureOf(host.read('1', { apiUrl: down, apiToken: token })),
        failureOf(host.delete('1', { apiUrl: `${url}?token=${token}`, apiToken: token })),
        failureOf(host.read('1', { apiUrl: url, apiToken: expired })),
      ]);

      const expected = /CONFLICT|VALIDATION_ERROR|not found|could not reach|query|401/;
      assert.deepEqual(
        errors.map((error) => expected.test(error.message)),
        errors.map(() => true),
      );
      for (const { message } of errors) {
        assert.ok(!message.includes(token) && !message.includes(expired), message);
      }
      assert.ok(!host.output().includes(token) && !host.output().includes(expired));
    });
  });

  describe('when the host starts in an empty folder', () => {
    it('runs the whole lifecycle', async () => {
      const folder = makeTempDir('numonic-empty-');
      try {
        const host = await startHost({ cwd: folder });

        const created = await register(host, {
          domainName: uniqueName('empty'),
          apiUrl: service.url,
          apiToken: token,
        });
        const read = await host.read(created.id, created.state);
        const news = { ...created.inputs, adopt: true };
        const updated = await host.update(created.id, created.state, news);
        await host.delete(created.id, updated.properties);

        assert.equal(read.id, created.id);
        assert.equal(updated.properties.adopt, true);
        assert.equal((await getDomain(created.id)).status, 404);
      } finally {
        removeTempDir(folder);
      }
    });
  });

  describe('when the service cannot be reached', () => {
    it('checks and diffs without it, so a preview of a new or changed stack works', async () => {
      const down = `http://127.0.0.1:${await closedPort()}`;
      const host = await startHost({ env: { NUMONIC_API_URL: down, NUMONIC_API_TOKEN: token } });
      const olds = { domainName: 'yourapp.com', apiUrl: down, apiToken: token };
      const news = { domainName: 'mail.yourapp.com', apiUrl: down, apiToken: token, adopt: true };

      const fresh = await host.check({}, { domainName: 'yourapp.com' });
      const changed = await host.check(olds, news);
      const diff = await host.diff('1', { ...olds, domainId: 1 }, changed.inputs);

      assert.deepEqual([fresh.failures, changed.failures], [[], []]);
      assert.deepEqual(diff, REPLACE);
    });
  });

  describe('check', () => {
    it('returns a failure for each bad name instead of throwing', async () => {
      const host = await startHost();
      const bad = [
        '',
        'localhost',
        '192.168.0.1',
        'bad name.com',
        'a..com',
        'mail.test',
        `${'x'.repeat(64)}.com`,
        `${'abcdefghi.'.repeat(21)}com`,
      ];

      const results = await Promise.all(bad.map((domainName) => host.check({}, { domainName })));

      for (const [index, result] of results.entries()) {
        assert.equal(result.failures.length, 1, `no failure for ${JSON.stringify(bad[index])}`);
        assert.equal(result.failures[0]?.property, 'domainName');
      }
    });

    it('returns failures for a bad apiUrl, apiToken and adopt, echoing no password', async () => {
      const host = await startHost();

      const results = await Promise.all([
        host.check({}, { domainName: 'yourapp.com', apiUrl: 'ftp://api.numonic.com' }),
        host.check({}, { domainName: 'yourapp.com', apiUrl: 'https://me:hunter2@api.numonic.com' }),
        host.check({}, { domainName: 'yourapp.com', apiToken: '' }),
        host.check({}, { domainName: 'yourapp.com', adopt: 'yes' }),
      ]);

      assert.deepEqual(
        results.map((result) => result.failures.map((failure) => failure.property)),
        [['apiUrl'], ['apiUrl'], ['apiToken'], ['adopt']],
      );
      assert.ok(!results[1]?.failures[0]?.reason.includes('hunter2'));
    });

    it('lets values that are not known yet through, as in a preview', async () => {
      const host = await startHost();

      const result = await host.check({}, { domainName: UNKNOWN, apiToken: UNKNOWN });

      assert.deepEqual(result.failures, []);
    });

    it('leaves the public-suffix rule to the service, which refuses the create', async () => {
      const host = await startHost();

      const checked = await host.check({}, { domainName: 'co.uk', ...credentials() });
      const error = await failureOf(host.create(checked.inputs));

      assert.deepEqual(checked.failures, []);
      assert.match(error.message, /422 VALIDATION_ERROR/);
    });
  });
});
