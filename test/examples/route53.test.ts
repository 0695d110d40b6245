import assert from 'node:assert/strict';

import {
  FAKE_DOMAIN,
  UNKNOWN,
  resourcesOfType,
  runExample,
  DOMAIN_TYPE,
  VERIFICATION_TYPE,
  type ProgramRun,
} from '../helpers/pulumi-program';

// Each run loads examples/route53 in its own `node` under mocked Pulumi engine calls: see
// test/helpers/pulumi-program.ts for why a child process.

const RECORD = 'aws:route53/record:Record';

describe('examples/route53', () => {
  describe('with zoneId set', () => {
    let run: ProgramRun;

    before(async () => {
      run = await runExample('route53', { zoneId: 'Z0123456789ABC' });
    });

    it('runs without errors', () => {
      assert.deepEqual(run.errors, []);
    });

    it('registers the domain with the configured domainName', () => {
      const [domain, ...others] = resourcesOfType(run, DOMAIN_TYPE);

      assert.equal(others.length, 0);
      assert.equal(domain?.inputs.domainName, FAKE_DOMAIN.domainName);
    });

    it('creates one Route 53 record per DNS record of the domain', () => {
      assert.equal(resourcesOfType(run, RECORD).length, FAKE_DOMAIN.dnsRecords.length);
    });

    it('gives the TXT record the name, type and unquoted value of verificationRecord', () => {
      const txt = run.resources.find((resource) => resource.name === 'verification-txt');
      const expected = FAKE_DOMAIN.verificationRecord;

      assert.ok(txt);
      assert.equal(txt.type, RECORD);
      assert.equal(txt.inputs.name, expected.name);
      assert.equal(txt.inputs.type, expected.type);
      assert.deepEqual(txt.inputs.records, [expected.value]);
    });

    it('gives DKIM records 0, 1 and 2 the names, types and values of dkimRecords, in order', () => {
      const dkim = [0, 1, 2].map((index) => {
        const record = run.resources.find((resource) => resource.name === `dkim-${index}`);
        return {
          type: record?.inputs.type,
          name: record?.inputs.name,
          values: record?.inputs.records,
        };
      });
      const expected = FAKE_DOMAIN.dkimRecords.map((record) => ({
        type: record.type,
        name: record.name,
        values: [record.value],
      }));

      assert.deepEqual(dkim, expected);
    });

    it('puts every record in the configured zone with a TTL of 600 and no overwrite', () => {
      const settings = resourcesOfType(run, RECORD).map(({ inputs }) => ({
        zoneId: inputs.zoneId,
        ttl: inputs.ttl,
        allowOverwrite: inputs.allowOverwrite,
      }));

      const expected = { zoneId: 'Z0123456789ABC', ttl: 600, allowOverwrite: false };

      assert.deepEqual(settings, Array(4).fill(expected));
    });

    it('looks no zone up', () => {
      assert.deepEqual(run.invokes, []);
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

    it('exports the domain, its records, the zone and the verification result', () => {
      assert.deepEqual(run.outputs, {
        zoneId: 'Z0123456789ABC',
        domainId: FAKE_DOMAIN.domainId,
        dnsRecords: FAKE_DOMAIN.dnsRecords,
        recordFqdns: FAKE_DOMAIN.dnsRecords.map((record) => record.name),
        verificationStatus: 'Success',
        verifiedAt: '2026-01-01T00:00:00.000Z',
      });
    });
  });

  describe('with zoneName, ttl and allowOverwrite set', () => {
    let run: ProgramRun;

    before(async () => {
      run = await runExample('route53', {
        zoneName: 'yourapp.com',
        ttl: '300',
        allowOverwrite: 'true',
      });
    });

    it('looks the public hosted zone up by name', () => {
      assert.deepEqual(run.invokes, [
        {
          token: 'aws:route53/getZone:getZone',
          inputs: { name: 'yourapp.com', privateZone: false },
        },
      ]);
    });

    it('puts every record in the zone found, with the configured TTL and overwrite', () => {
      const settings = resourcesOfType(run, RECORD).map(({ inputs }) => ({
        zoneId: inputs.zoneId,
        ttl: inputs.ttl,
        allowOverwrite: inputs.allowOverwrite,
      }));

      const expected = { zoneId: 'Z0FAKEZONE4NUMONIC', ttl: 300, allowOverwrite: true };

      assert.deepEqual(settings, Array(4).fill(expected));
    });
  });

  describe('in a preview of the first deployment, while the domain outputs are unknown', () => {
    let run: ProgramRun;

    before(async () => {
      run = await runExample(
        'route53',
        { zoneId: 'Z0123456789ABC' },
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

    it('leaves the record names and values unknown rather than guessing them', () => {
      const records = resourcesOfType(run, RECORD).map(({ inputs }) => ({
        name: inputs.name,
        records: inputs.records,
      }));

      assert.deepEqual(records, Array(4).fill({ name: UNKNOWN, records: [UNKNOWN] }));
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

  describe('without zoneId or zoneName', () => {
    it('fails naming both ways to set the zone', async () => {
      const run = await runExample('route53', {});

      assert.equal(run.resources.length, 0);
      assert.match(run.errors.join('\n'), /zoneId.*zoneName/);
    });
  });

  describe('with both zoneId and zoneName', () => {
    it('fails rather than choosing one', async () => {
      const run = await runExample('route53', {
        zoneId: 'Z0123456789ABC',
        zoneName: 'yourapp.com',
      });

      assert.equal(run.resources.length, 0);
      assert.match(run.errors.join('\n'), /either zoneId or zoneName, not both/);
    });
  });
});
