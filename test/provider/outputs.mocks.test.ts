import assert from 'node:assert/strict';

import * as pulumi from '@pulumi/pulumi';

import {
  NumonicDomain,
  NumonicDomainVerification,
  type NumonicDnsRecord,
  type NumonicDomainArgs,
  type NumonicDomainVerificationArgs,
} from '../../provider';
import { isWireSecret, mockRuntime, valueOf, type MockedRuntime } from '../helpers/pulumi-mocks';

const TOKEN = 'eyJhbGciOiJIUzI1NiJ9.eyJ0ZW5hbnRfaWQiOiJtb2NrcyJ9.bW9jay1zaWduYXR1cmU';
const TXT = { type: 'TXT', name: '_amazonses.yourapp.com', value: 'txt-token' };
const DKIM = ['aaa', 'bbb', 'ccc'].map((token) => ({
  type: 'CNAME',
  name: `${token}._domainkey.yourapp.com`,
  value: `${token}.dkim.amazonses.com`,
}));

/** The outputs the provider's `create` returns for each type, as a mock service would. */
function outputsFor(type: string): Record<string, unknown> {
  if (type === 'pulumi-nodejs:dynamic/numonic:NumonicDomain') {
    return {
      domainId: 7,
      tenantId: '550e8400-e29b-41d4-a716-446655440000',
      domainName: 'yourapp.com',
      identityArn: 'arn:aws:ses:us-east-1:000000000000:identity/yourapp.com',
      verificationStatus: 'Pending',
      configurationSetName: 'numonic-emails',
      dnsRecords: [TXT, ...DKIM],
      verificationRecord: TXT,
      dkimRecords: DKIM,
    };
  }
  return {
    domainId: 7,
    domainName: 'yourapp.com',
    verificationStatus: 'Success',
    verifiedAt: '2026-01-02T03:04:05.000Z',
  };
}

describe('the provider resources under setMocks', () => {
  let runtime: MockedRuntime;

  beforeEach(() => {
    runtime = mockRuntime(outputsFor);
  });

  describe('NumonicDomain', () => {
    it('registers its own dynamic type, with the serialized provider', async () => {
      new NumonicDomain('mail', { domainName: 'yourapp.com' });

      const registration = await runtime.registration('mail');

      assert.equal(registration.type, 'pulumi-nodejs:dynamic/numonic:NumonicDomain');
      assert.match(String(registration.inputs.__provider), /^exports\.handler = /);
    });

    it('declares every output of the contract, typed', async () => {
      const domain = new NumonicDomain('mail', { domainName: 'yourapp.com' });
      // Compile-time checks: each declaration has the contract's type.
      const typed: {
        domainId: pulumi.Output<number>;
        tenantId: pulumi.Output<string>;
        domainName: pulumi.Output<string>;
        identityArn: pulumi.Output<string>;
        verificationStatus: pulumi.Output<string>;
        configurationSetName: pulumi.Output<string>;
        dnsRecords: pulumi.Output<NumonicDnsRecord[]>;
        verificationRecord: pulumi.Output<NumonicDnsRecord>;
        dkimRecords: pulumi.Output<NumonicDnsRecord[]>;
      } = domain;

      const expected = outputsFor('pulumi-nodejs:dynamic/numonic:NumonicDomain');
      const outputs = typed as Record<keyof typeof typed, pulumi.Output<unknown>>;

      const values = Object.fromEntries(
        await Promise.all(
          Object.keys(expected).map(async (key) => {
            return [key, await valueOf(outputs[key as keyof typeof typed])];
          }),
        ),
      );

      assert.deepEqual(values, expected);
    });

    it('lifts the record outputs, so DNS records can be declared outside apply()', async () => {
      const domain = new NumonicDomain('mail', { domainName: 'yourapp.com' });

      const txtName = await valueOf(domain.verificationRecord.name);
      const thirdDkim = await valueOf(domain.dkimRecords[2]!.value);

      assert.equal(txtName, '_amazonses.yourapp.com');
      assert.equal(thirdDkim, 'ccc.dkim.amazonses.com');
    });

    it('sends the token as a secret and keeps it secret in state', async () => {
      const args: NumonicDomainArgs = { domainName: 'yourapp.com', apiToken: TOKEN };
      new NumonicDomain('mail', args);

      const registration = await runtime.registration('mail');

      assert.ok(isWireSecret(registration.wire.apiToken));
      assert.deepEqual(registration.additionalSecretOutputs, ['apiToken']);
      assert.ok(!String(registration.inputs.__provider).includes(TOKEN));
    });

    it('keeps a token from secret configuration secret, as `requireSecret` returns it', async () => {
      // `new pulumi.Config('numonic').requireSecret('apiToken')` is `pulumi.secret(value)`.
      const fromConfig = pulumi.secret(TOKEN).apply((token) => token);
      new NumonicDomain('mail', { domainName: 'yourapp.com', apiToken: fromConfig });

      const registration = await runtime.registration('mail');

      assert.ok(isWireSecret(registration.wire.apiToken));
      assert.ok(!String(registration.inputs.__provider).includes(TOKEN));
    });

    it('keeps the caller options next to additionalSecretOutputs', async () => {
      const opts = { additionalSecretOutputs: ['tenantId'] };
      new NumonicDomain('mail', { domainName: 'yourapp.com' }, opts);

      const registration = await runtime.registration('mail');

      assert.deepEqual([...registration.additionalSecretOutputs].sort(), ['apiToken', 'tenantId']);
    });
  });

  describe('NumonicDomainVerification', () => {
    it('declares every output of the contract, typed, and keeps the token secret', async () => {
      const args: NumonicDomainVerificationArgs = { domainId: '7', apiToken: TOKEN };
      const verification = new NumonicDomainVerification('verified', args);
      const typed: {
        domainId: pulumi.Output<number>;
        domainName: pulumi.Output<string>;
        verificationStatus: pulumi.Output<string>;
        verifiedAt: pulumi.Output<string>;
      } = verification;

      const registration = await runtime.registration('verified');
      const values = {
        domainId: await valueOf(typed.domainId),
        domainName: await valueOf(typed.domainName),
        verificationStatus: await valueOf(typed.verificationStatus),
        verifiedAt: await valueOf(typed.verifiedAt),
      };

      assert.equal(registration.type, 'pulumi-nodejs:dynamic/numonic:NumonicDomainVerification');
      assert.deepEqual(values, outputsFor(registration.type));
      assert.ok(isWireSecret(registration.wire.apiToken));
      assert.deepEqual(registration.additionalSecretOutputs, ['apiToken']);
    });

    it('takes a NumonicDomain output as its domainId', async () => {
      const domain = new NumonicDomain('mail', { domainName: 'yourapp.com' });
      new NumonicDomainVerification('verified', { domainId: domain.domainId });

      const registration = await runtime.registration('verified');

      assert.equal(registration.inputs.domainId, 7);
    });
  });
});
