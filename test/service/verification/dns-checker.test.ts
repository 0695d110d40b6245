import assert from 'node:assert/strict';

import { DnsChecker, type ExpectedRecord } from '../../../service/verification/dns-checker';
import { TestDnsServer } from '../../helpers/dns-server';

const TOKEN = 'pmBGN/7MjnfhTKUZ06Enqq1PeGUaOkw8lGhcfwefcHU=';
const TXT: ExpectedRecord = { type: 'TXT', name: '_amazonses.shop.com', value: TOKEN };
const DKIM: ExpectedRecord = {
  type: 'CNAME',
  name: 'abc123._domainkey.shop.com',
  value: 'abc123.dkim.amazonses.com',
};

describe('DnsChecker', () => {
  let dns: TestDnsServer;
  let checker: DnsChecker;

  before(async () => {
    dns = await TestDnsServer.start();
    checker = new DnsChecker({ servers: [dns.address], timeoutMs: 400 });
  });
  after(() => dns.close());
  afterEach(() => dns.clear());

  const checkOne = async (record: ExpectedRecord) => (await checker.check([record])).checks[0];

  describe('when the TXT record holds the token', () => {
    it('reports it verified', async () => {
      dns.setTxt(TXT.name, TOKEN);

      assert.deepEqual(await checkOne(TXT), { status: 'verified' });
    });
  });

  describe('when the TXT record is split into character-strings', () => {
    it('joins them before comparing', async () => {
      dns.setTxt(TXT.name, [TOKEN.slice(0, 20), TOKEN.slice(20)]);

      assert.deepEqual(await checkOne(TXT), { status: 'verified' });
    });
  });

  describe('when the name holds the token among other TXT records', () => {
    it('reports it verified', async () => {
      dns.setTxt(TXT.name, 'v=spf1 -all', TOKEN);

      assert.deepEqual(await checkOne(TXT), { status: 'verified' });
    });
  });

  describe('when the TXT record holds another value', () => {
    it('reports mismatch with every value found', async () => {
      dns.setTxt(TXT.name, 'old-token', 'v=spf1 -all');

      assert.deepEqual(await checkOne(TXT), {
        status: 'mismatch',
        found: ['old-token', 'v=spf1 -all'],
      });
    });
  });

  describe('when the TXT record differs from the token only in case', () => {
    it('reports mismatch, since SES compares the token exactly', async () => {
      dns.setTxt(TXT.name, TOKEN.toLowerCase());

      assert.equal((await checkOne(TXT))?.status, 'mismatch');
    });
  });

  describe('when the CNAME points at the expected target', () => {
    it('reports it verified, whatever the case and trailing dot', async () => {
      dns.setCname(DKIM.name, 'ABC123.DKIM.amazonses.com.');

      assert.deepEqual(await checkOne(DKIM), { status: 'verified' });
    });
  });

  describe('when the CNAME points elsewhere', () => {
    it('reports mismatch with the value found', async () => {
      dns.setCname(DKIM.name, 'abc123.dkim.elsewhere.net');

      assert.deepEqual(await checkOne(DKIM), {
        status: 'mismatch',
        found: ['abc123.dkim.elsewhere.net'],
      });
    });
  });

  describe('when the name does not exist', () => {
    it('reports pending', async () => {
      assert.deepEqual(await checkOne(DKIM), { status: 'pending' });
    });

    it('counts NXDOMAIN as an answer', async () => {
      assert.equal((await checker.check([DKIM])).answered, true);
    });
  });

  describe('when the name holds no record of the type asked', () => {
    it('reports pending', async () => {
      dns.setTxt(DKIM.name, 'not a cname');

      assert.deepEqual(await checkOne(DKIM), { status: 'pending' });
    });
  });

  describe('when the server does not answer', () => {
    it('reports pending within its timeout', async () => {
      dns.silence(TXT.name);
      const started = Date.now();

      const check = await checkOne(TXT);

      assert.deepEqual(check, { status: 'pending' });
      assert.ok(Date.now() - started < 1000, `took ${Date.now() - started} ms`);
    });

    it('says DNS did not answer, though the other records were answered', async () => {
      dns.setCname(DKIM.name, DKIM.value);
      dns.silence(TXT.name);

      const { checks, answered } = await checker.check([DKIM, TXT]);

      assert.equal(answered, false);
      assert.deepEqual(
        checks.map((check) => check.status),
        ['verified', 'pending'],
      );
    });
  });

  describe('when no server listens at the address', () => {
    it('reports pending and says DNS did not answer', async () => {
      const nobody = await TestDnsServer.start();
      await nobody.close();
      const deaf = new DnsChecker({ servers: [nobody.address], timeoutMs: 400 });

      const { checks, answered } = await deaf.check([TXT]);

      assert.deepEqual(checks, [{ status: 'pending' }]);
      assert.equal(answered, false);
    });
  });

  describe('with several records', () => {
    it('answers one result per record, in their order', async () => {
      dns.setCname(DKIM.name, DKIM.value);
      const missing: ExpectedRecord = { ...DKIM, name: 'zzz._domainkey.shop.com' };

      const { checks } = await checker.check([TXT, DKIM, missing]);

      assert.deepEqual(
        checks.map((check) => check.status),
        ['pending', 'verified', 'pending'],
      );
    });
  });
});
