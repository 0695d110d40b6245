import assert from 'node:assert/strict';

import {
  FAKE_DOMAIN,
  UNKNOWN,
  resourcesOfType,
  runExample,
  VERIFICATION_TYPE,
  type ProgramRun,
} from '../helpers/pulumi-program';

// Each run loads examples/cloudflare in its own `node` under mocked Pulumi engine calls: see
// test/helpers/pulumi-program.ts for why a child process.

const RECORD = 'cloudflare:index/dnsRecord:DnsRecord';
const ZONE_ID = '023e105f4ecef8ad9ca31a8372d0c353';

describe('examples/cloudflare', () => {
  describe('with zoneId set', () => {
    let run: ProgramRun;

    before(async () => {
      run = await runExample('cloudflare', { zoneId: ZONE_ID });
    });

    it('runs without errors', () => {
      assert.deepEqual(run.errors, []);
    });

    it('creates one Cloudflare DNS record per DNS record of the domain', () => {
      assert.equal(resourcesOfType(run, RECORD).length, FAKE_DOMAIN.dnsRecords.length);
    });

    it('gives the TXT record the name and type of verificationRecord and its value quoted', () => {
      const txt = run.resources.find((resource) => resource.name === 'verification-txt');
      const expected = FAKE_DOMAIN.verificationRecord;

      assert.ok(txt);
      assert.equal(txt.type, RECORD);
      assert.equal(txt.inputs.name, expected.name);
      assert.equal(txt.inputs.type, expected.type);
      assert.equal(txt.inputs.content, `"${expected.value}"`);
    });

    it('gives DKIM records 0, 1 and 2 the names, types and values of dkimRecords, in order', () => {
      const dkim = [0, 1, 2].map((index) => {
        const record = run.resources.find((resource) => resource.name === `dkim-${index}`);
        return {
          type: record?.inputs.type,
          name: record?.inputs.name,
          value: record?.inputs.content,
        };
      });

      assert.deepEqual(dkim, FAKE_DOMAIN.dkimRecords);
    });

    it('puts every record, unproxied, in the configured zone with the automatic TTL', () => {
      const settings = resourcesOfType(run, RECORD).map(({ inputs }) => ({
        zoneId: inputs.zoneId,
        ttl: inputs.ttl,
        proxied: inputs.proxied,
      }));
      const expected = { zoneId: ZONE_ID, ttl: 1, proxied: false };

      assert.deepEqual(settings, Array(4).fill(expected));
    });

    it('makes the verification depend on all four records', () => {
      const [verification] = resourcesOfType(run, VERIFICATION_TYPE);
      const recordUrns = resourcesOfType(run, RECORD).map((record) => record.urn);

      assert.ok(verification);
      assert.equal(verification.inputs.domainId, FAKE_DOMAIN.domainId);
      for (const urn of recordUrns) {
        assert.ok(verification.dependencies.includes(urn), `the verification waits for ${urn}`);
      }
    });

    it('exports the domain, its records, the record ids and the verification result', () => {
      assert.deepEqual(run.outputs, {
        domainId: FAKE_DOMAIN.domainId,
        dnsRecords: FAKE_DOMAIN.dnsRecords,
        recordIds: ['verification-txt-id', 'dkim-0-id', 'dkim-1-id', 'dkim-2-id'],
        verificationStatus: 'Success',
        verifiedAt: '2026-01-01T00:00:00.000Z',
      });
    });
  });

  describe('with ttl set', () => {
    it('gives every record that TTL', async () => {
      const run = await runExample('cloudflare', { zoneId: ZONE_ID, ttl: '3600' });

      assert.deepEqual(
        resourcesOfType(run, RECORD).map(({ inputs }) => inputs.ttl),
        [3600, 3600, 3600, 3600],
      );
    });
  });

  describe('in a preview of the first deployment, while the domain outputs are unknown', () => {
    let run: ProgramRun;

    before(async () => {
      run = await runExample(
        'cloudflare',
        { zoneId: ZONE_ID },
        { preview: true, domain: undefined },
      );
    });

    it('still registers all four records and the verification', () => {
      const names = run.resources.map((resource) => resource.name).sort();

      assert.deepEqual(names, [
        'dkim-0',
        'dkim-1',
        'dkim-2',
        'domain',
        'verification',
        'verification-txt',
      ]);
    });

    it('leaves the record names and contents unknown rather than guessing them', () => {
      const records = resourcesOfType(run, RECORD).map(({ inputs }) => ({
        name: inputs.name,
        content: inputs.content,
      }));

      assert.deepEqual(records, Array(4).fill({ name: UNKNOWN, content: UNKNOWN }));
    });

    it('already makes the verification depend on all four records', () => {
      const [verification] = resourcesOfType(run, VERIFICATION_TYPE);
      const recordUrns = resourcesOfType(run, RECORD).map((record) => record.urn);

      assert.deepEqual(
        recordUrns.filter((urn) => verification?.dependencies.includes(urn)),
        recordUrns,
      );
    });
  });

  describe('with zoneName set', () => {
    let run: ProgramRun;

    before(async () => {
      run = await runExample('cloudflare', { zoneName: 'yourapp.com' });
    });

    it('looks the zone up by name', () => {
      assert.deepEqual(run.invokes, [
        { token: 'cloudflare:index/getZone:getZone', inputs: { filter: { name: 'yourapp.com' } } },
      ]);
    });

    it('puts every record in the zone found', () => {
      const zones = resourcesOfType(run, RECORD).map(({ inputs }) => inputs.zoneId);

      assert.deepEqual(zones, Array(4).fill('Z0FAKEZONE4NUMONIC'));
    });
  });

  describe('without zoneId or zoneName', () => {
    it('fails naming both keys', async () => {
      const run = await runExample('cloudflare', {});

      assert.equal(run.resources.length, 0);
      assert.match(run.errors.join('\n'), /zoneId.*zoneName/);
    });
  });

  describe('with both zoneId and zoneName', () => {
    it('fails, asking for one of them', async () => {
      const run = await runExample('cloudflare', { zoneId: ZONE_ID, zoneName: 'yourapp.com' });

      assert.equal(run.resources.length, 0);
      assert.match(run.errors.join('\n'), /either zoneId or zoneName/);
    });
  });

  describe('with a ttl Cloudflare refuses', () => {
    it('fails before creating anything', async () => {
      const run = await runExample('cloudflare', { zoneId: ZONE_ID, ttl: '30' });

      assert.equal(run.resources.length, 0);
      assert.match(run.errors.join('\n'), /ttl must be 1/);
    });
  });
});
