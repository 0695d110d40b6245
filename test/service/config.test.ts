import assert from 'node:assert/strict';

import { ConfigError, loadConfig } from '../../service/config';

const SECRET = 's'.repeat(32);

function problemsOf(env: NodeJS.ProcessEnv): string[] {
  try {
    loadConfig(env);
  } catch (error) {
    assert.ok(error instanceof ConfigError);
    return error.problems;
  }
  assert.fail('expected a ConfigError');
}

describe('loadConfig', () => {
  describe('with an empty environment', () => {
    it('uses the documented defaults', () => {
      const config = loadConfig({});

      assert.equal(config.port, 3000);
      assert.equal(config.host, '127.0.0.1');
      assert.equal(config.dataFile, './data/numonic.json');
      assert.equal(config.jwt.secret, undefined);
      assert.equal(config.ses.mode, 'simulated');
      assert.equal(config.ses.modeExplicit, false);
      assert.equal(config.ses.configurationSet, 'numonic-emails');
      assert.equal(config.rateLimitPerMinute, 1200);
      assert.equal(config.verifyPerMinute, 10);
      assert.equal(config.ses.simulatedDelayMs, 0);
      assert.equal(config.logLevel, 'info');
      assert.equal(config.dns.servers, undefined);
    });
  });

  describe('with numeric variables set but empty', () => {
    it('uses their defaults, as for unset ones, rather than 0', () => {
      const config = loadConfig({
        PORT: '',
        NUMONIC_RATE_LIMIT_PER_MINUTE: ' ',
        NUMONIC_VERIFY_PER_MINUTE: '',
        NUMONIC_RECONCILE_PER_SECOND: '',
      });

      assert.equal(config.port, 3000);
      assert.equal(config.rateLimitPerMinute, 1200);
      assert.equal(config.verifyPerMinute, 10);
      assert.equal(config.reconcile.perSecond, 1);
    });
  });

  it('refuses a number with trailing text, naming the variable', () => {
    const problems = problemsOf({ NUMONIC_RATE_LIMIT_PER_MINUTE: '100/min' });

    assert.equal(problems.length, 1);
    assert.match(problems[0]!, /^NUMONIC_RATE_LIMIT_PER_MINUTE/);
  });

  const outOfRange: [string, string][] = [
    ['NUMONIC_RECONCILE_PER_SECOND', '0'],
    ['NUMONIC_RECONCILE_PER_SECOND', '1001'],
    ['NUMONIC_RECONCILE_CONCURRENCY', '0'],
    ['NUMONIC_RECONCILE_CONCURRENCY', '65'],
    ['NUMONIC_VERIFY_PER_MINUTE', '0'],
    ['NUMONIC_SES_MAX_ATTEMPTS', '11'],
    ['NUMONIC_DNS_TIMEOUT_MS', '99'],
  ];
  for (const [name, value] of outOfRange) {
    it(`refuses ${name}=${value}, outside its range, naming the variable`, () => {
      const problems = problemsOf({ [name]: value });

      assert.equal(problems.length, 1);
      assert.match(problems[0]!, new RegExp(`^${name}`));
    });
  }

  it('parses comma-separated DNS servers', () => {
    const config = loadConfig({ NUMONIC_DNS_SERVERS: '127.0.0.1:5353, 1.1.1.1' });

    assert.deepEqual(config.dns.servers, ['127.0.0.1:5353', '1.1.1.1']);
  });

  it('refuses a DNS server given by host name, since the resolver takes addresses only', () => {
    const problems = problemsOf({ NUMONIC_DNS_SERVERS: '127.0.0.1:5353,dns.google:53' });

    assert.equal(problems.length, 1);
    assert.match(problems[0]!, /^NUMONIC_DNS_SERVERS/);
  });

  for (const server of ['127.0.0.1:0', '127.0.0.1:65536', '[::1]:0']) {
    it(`refuses the DNS server ${server}, whose port is out of range`, () => {
      const problems = problemsOf({ NUMONIC_DNS_SERVERS: server });

      assert.equal(problems.length, 1);
      assert.match(problems[0]!, /^NUMONIC_DNS_SERVERS/);
    });
  }

  it('accepts IPv6 DNS servers with and without a port', () => {
    const config = loadConfig({ NUMONIC_DNS_SERVERS: '[::1]:5353,::1' });

    assert.deepEqual(config.dns.servers, ['[::1]:5353', '::1']);
  });

  it('names every bad variable at once', () => {
    const problems = problemsOf({
      PORT: '99999',
      NUMONIC_JWT_SECRET: 'too-short',
      NUMONIC_SES_MODE: 'real',
      NUMONIC_RATE_LIMIT_PER_MINUTE: '-1',
      NUMONIC_JWKS_URL: 'ftp://keys',
    });
    const named = problems.map((problem) => problem.split(':')[0]).sort();

    assert.deepEqual(named, [
      'NUMONIC_JWKS_URL',
      'NUMONIC_JWT_SECRET',
      'NUMONIC_RATE_LIMIT_PER_MINUTE',
      'NUMONIC_SES_MODE',
      'PORT',
    ]);
  });

  describe('with NODE_ENV=production', () => {
    it('refuses a generated secret, naming NUMONIC_JWT_SECRET', () => {
      const problems = problemsOf({ NODE_ENV: 'production', NUMONIC_SES_MODE: 'aws' });

      assert.equal(problems.length, 1);
      assert.match(problems[0]!, /^NUMONIC_JWT_SECRET/);
    });

    it('refuses an implicit simulated mode, naming NUMONIC_SES_MODE', () => {
      const problems = problemsOf({ NODE_ENV: 'production', NUMONIC_JWT_SECRET: SECRET });

      assert.equal(problems.length, 1);
      assert.match(problems[0]!, /^NUMONIC_SES_MODE/);
    });

    it('accepts a JWKS URL instead of a secret', () => {
      const config = loadConfig({
        NODE_ENV: 'production',
        NUMONIC_SES_MODE: 'aws',
        NUMONIC_JWKS_URL: 'https://auth.numonic.com/.well-known/jwks.json',
      });

      assert.equal(config.production, true);
    });

    it('refuses a plain-http JWKS URL, naming NUMONIC_JWKS_URL', () => {
      const problems = problemsOf({
        NODE_ENV: 'production',
        NUMONIC_SES_MODE: 'aws',
        NUMONIC_JWKS_URL: 'http://auth.numonic.com/.well-known/jwks.json',
      });

      assert.equal(problems.length, 1);
      assert.match(problems[0]!, /^NUMONIC_JWKS_URL/);
    });

    it('accepts a plain-http JWKS URL on loopback', () => {
      const config = loadConfig({
        NODE_ENV: 'production',
        NUMONIC_SES_MODE: 'aws',
        NUMONIC_JWKS_URL: 'http://127.0.0.1:8080/jwks.json',
      });

      assert.equal(config.jwt.jwksUrl, 'http://127.0.0.1:8080/jwks.json');
    });
  });
});
