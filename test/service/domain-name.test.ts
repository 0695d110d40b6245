import assert from 'node:assert/strict';

import { normalizeDomainName } from '../../service/domains/domain-name';
import { validateDomainName } from '../../service/domains/public-suffix';

function accepted(input: unknown): string {
  const result = validateDomainName(input);
  assert.ok(
    result.ok,
    `expected ${JSON.stringify(input)} to be accepted: ${JSON.stringify(result)}`,
  );
  return result.name;
}

function rejected(input: unknown): string {
  const result = validateDomainName(input);
  assert.ok(
    !result.ok,
    `expected ${JSON.stringify(input)} to be rejected, got ${JSON.stringify(result)}`,
  );
  return result.message;
}

describe('domain names', () => {
  describe('normalization', () => {
    it('lowercases', () => assert.equal(accepted('YourApp.COM'), 'yourapp.com'));
    it('trims surrounding spaces', () => assert.equal(accepted('  yourapp.com \t'), 'yourapp.com'));
    it('strips one trailing dot', () => assert.equal(accepted('yourapp.com.'), 'yourapp.com'));
    it('converts an IDN to punycode', () => {
      assert.equal(accepted('Bücher.de'), 'xn--bcher-kva.de');
    });
    it('keeps punycode that is already ASCII', () => {
      assert.equal(accepted('xn--bcher-kva.de'), 'xn--bcher-kva.de');
    });
    it('accepts a subdomain of a public suffix', () =>
      assert.equal(accepted('mail.co.uk'), 'mail.co.uk'));
  });

  describe('rejection', () => {
    const cases: [string, unknown][] = [
      ['a non-string', 42],
      ['an empty string', '   '],
      ['a single label', 'yourapp'],
      ['two trailing dots', 'yourapp.com..'],
      ['an empty label', 'your..app.com'],
      ['a percent sign', 'your%61pp.com'],
      ['a slash', 'yourapp.com/path'],
      ['an at sign', 'me@yourapp.com'],
      ['a port', 'yourapp.com:25'],
      ['brackets', '[::1]'],
      ['an inner space', 'your app.com'],
      ['an underscore', 'your_app.com'],
      ['a label starting with a hyphen', '-yourapp.com'],
      ['a label ending with a hyphen', 'yourapp-.com'],
      ['a label over 63 characters', `${'a'.repeat(64)}.com`],
      ['a name over 209 characters', `${'a.'.repeat(104)}com`],
      ['a dotted IPv4 address', '192.168.1.1'],
      ['a hex IPv4 address', '0x7f.1'],
      ['a short IPv4 address', '127.1'],
      ['a numeric top-level label', 'yourapp.123'],
      ['localhost', 'localhost'],
      ['a name under .localhost', 'app.localhost'],
      ['a name under .test', 'yourapp.test'],
      ['a name under .invalid', 'yourapp.invalid'],
      ['a name under .example', 'yourapp.example'],
      ['a public suffix', 'co.uk'],
      ['a top-level domain with a trailing dot', 'com.'],
      ['invalid punycode', 'xn--zz.com'],
    ];
    for (const [what, input] of cases) {
      it(`refuses ${what}`, () => {
        assert.match(rejected(input), /\S/);
      });
    }

    it('leaves public suffixes to the service: the shared syntax rules accept co.uk', () => {
      assert.deepEqual(normalizeDomainName('co.uk'), { ok: true, name: 'co.uk' });
    });

    it('accepts exactly 209 characters', () => {
      const name = `${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(13)}.com`;
      assert.equal(name.length, 209);
      assert.equal(accepted(name), name);
    });
  });
});
