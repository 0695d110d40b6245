import assert from 'node:assert/strict';
import { createHmac, randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

import {
  exportJWK,
  exportSPKI,
  generateKeyPair,
  SignJWT,
  type CryptoKey,
  type JWK,
  type JWTPayload,
} from 'jose';

import { createAuthenticator } from '../../service/auth';
import { postExpectingContinue, request } from '../helpers/http';
import { ManualClock } from '../helpers/manual-clock';
import { startTestService, type TestService } from '../helpers/service';

const base64url = (value: object | string) =>
  Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');

const inAnHour = () => Math.floor(Date.now() / 1000) + 3600;

async function hs256(secret: string, payload: JWTPayload): Promise<string> {
  return new SignJWT(payload)
    .setProtectedHeader({ alg: 'HS256' })
    .sign(new TextEncoder().encode(secret));
}

/** A JWKS endpoint on loopback serving the public halves of the given keys. */
async function serveJwks(keys: JWK[]): Promise<{ url: string; close(): Promise<void> }> {
  const server = http.createServer((_req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ keys }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/.well-known/jwks.json`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

async function expectUnauthorized(service: TestService, authorization: string | undefined) {
  const res = await request(service.url, 'GET', '/api/v1/domains', {
    headers: authorization === undefined ? {} : { authorization },
  });

  assert.equal(res.status, 401);
  assert.equal(res.body.error.code, 'UNAUTHORIZED');
  assert.match(res.headers.get('www-authenticate') ?? '', /^Bearer\b/);
}

describe('authentication', () => {
  describe('with an HS256 secret', () => {
    let service: TestService;
    const bearer = (token: string) => `Bearer ${token}`;

    before(async () => {
      service = await startTestService();
    });
    after(() => service.close());

    it('accepts a valid token', async () => {
      const res = await request(service.url, 'GET', '/api/v1/domains', {
        token: await service.token(),
      });

      assert.equal(res.status, 200);
    });

    it('refuses a request without Authorization', () => expectUnauthorized(service, undefined));

    it('refuses another scheme', () => expectUnauthorized(service, 'Basic dXNlcjpwYXNz'));

    it('refuses a token that is not a JWT', () => expectUnauthorized(service, 'Bearer not-a-jwt'));

    it('refuses alg "none"', async () => {
      const token = `${base64url({ alg: 'none', typ: 'JWT' })}.${base64url({
        tenant_id: randomUUID(),
        exp: inAnHour(),
      })}.`;
      await expectUnauthorized(service, bearer(token));
    });

    it('refuses a token signed with another secret', async () => {
      const token = await hs256('x'.repeat(40), { tenant_id: randomUUID(), exp: inAnHour() });
      await expectUnauthorized(service, bearer(token));
    });

    it('refuses a tampered payload', async () => {
      const [header, , signature] = (await service.token()).split('.');
      const forged = base64url({ tenant_id: randomUUID(), exp: inAnHour() });
      await expectUnauthorized(service, bearer(`${header}.${forged}.${signature}`));
    });

    it('refuses an expired token', async () => {
      const token = await hs256(service.secret, {
        tenant_id: randomUUID(),
        exp: Math.floor(Date.now() / 1000) - 120,
      });
      await expectUnauthorized(service, bearer(token));
    });

    it('accepts a token expired within the 30 s clock tolerance', async () => {
      const token = await hs256(service.secret, {
        tenant_id: randomUUID(),
        exp: Math.floor(Date.now() / 1000) - 10,
      });
      const res = await request(service.url, 'GET', '/api/v1/domains', { token });

      assert.equal(res.status, 200);
    });

    it('refuses a token without exp', async () => {
      await expectUnauthorized(
        service,
        bearer(await hs256(service.secret, { tenant_id: randomUUID() })),
      );
    });

    it('refuses a token not valid before a later time', async () => {
      const token = await hs256(service.secret, {
        tenant_id: randomUUID(),
        exp: inAnHour(),
        nbf: Math.floor(Date.now() / 1000) + 600,
      });
      await expectUnauthorized(service, bearer(token));
    });

    it('refuses a token without tenant_id', async () => {
      await expectUnauthorized(service, bearer(await hs256(service.secret, { exp: inAnHour() })));
    });

    it('refuses a tenant_id that is not a UUID', async () => {
      const token = await hs256(service.secret, { tenant_id: 'tenant-1', exp: inAnHour() });
      await expectUnauthorized(service, bearer(token));
    });

    describe('before anything else on /api/v1', () => {
      it('answers 401 rather than 404 for an unknown route', async () => {
        const res = await request(service.url, 'GET', '/api/v1/unknown');
        assert.equal(res.status, 401);
      });

      it('answers 401 rather than 404 for an unknown domain', async () => {
        const res = await request(service.url, 'GET', '/api/v1/domains/12345');
        assert.equal(res.status, 401);
      });

      it('answers 401 rather than 413 for a large body', async () => {
        const res = await request(service.url, 'POST', '/api/v1/domains', {
          body: { domain_name: 'x.com', padding: 'x'.repeat(64 * 1024) },
        });
        assert.equal(res.status, 401);
      });

      it('answers 401 without asking for the body of a client that waits to send it', async () => {
        const res = await postExpectingContinue(service.url, '/api/v1/domains', {
          body: { domain_name: 'x.com', padding: 'x'.repeat(64 * 1024) },
        });

        assert.equal(res.status, 401);
        assert.equal(res.body.error.code, 'UNAUTHORIZED');
        assert.equal(res.continued, false);
      });

      it('answers 401 rather than 400 for malformed JSON', async () => {
        const res = await request(service.url, 'POST', '/api/v1/domains', {
          body: '{oops',
          headers: { 'content-type': 'application/json' },
        });
        assert.equal(res.status, 401);
      });

      it('answers 401 rather than 422 for an invalid body', async () => {
        const res = await request(service.url, 'POST', '/api/v1/domains', {
          body: { domain_name: 'not a domain' },
        });
        assert.equal(res.status, 401);
      });
    });

    it('gives the same answer whatever the cause', async () => {
      const bodies = await Promise.all(
        [undefined, 'Bearer x.y.z', bearer(await hs256(service.secret, { exp: inAnHour() }))].map(
          async (authorization) =>
            (
              await request(service.url, 'GET', '/api/v1/domains', {
                headers: authorization === undefined ? {} : { authorization },
              })
            ).body,
        ),
      );

      assert.deepEqual(bodies[1], bodies[0]);
      assert.deepEqual(bodies[2], bodies[0]);
    });
  });

  describe('with issuer and audience configured', () => {
    let service: TestService;
    const claims = { tenant_id: randomUUID(), exp: inAnHour() };

    before(async () => {
      service = await startTestService({
        NUMONIC_JWT_ISSUER: 'https://auth.numonic.test',
        NUMONIC_JWT_AUDIENCE: 'numonic-domains',
      });
    });
    after(() => service.close());

    it('accepts a token with both', async () => {
      const token = await hs256(service.secret, {
        ...claims,
        iss: 'https://auth.numonic.test',
        aud: 'numonic-domains',
      });
      const res = await request(service.url, 'GET', '/api/v1/domains', { token });

      assert.equal(res.status, 200);
    });

    it('refuses a wrong issuer', async () => {
      const token = await hs256(service.secret, {
        ...claims,
        iss: 'https://evil',
        aud: 'numonic-domains',
      });
      await expectUnauthorized(service, `Bearer ${token}`);
    });

    it('refuses a wrong audience', async () => {
      const token = await hs256(service.secret, {
        ...claims,
        iss: 'https://auth.numonic.test',
        aud: 'someone-else',
      });
      await expectUnauthorized(service, `Bearer ${token}`);
    });

    it('refuses a token without them', async () => {
      await expectUnauthorized(service, `Bearer ${await hs256(service.secret, claims)}`);
    });
  });

  describe('with a JWKS URL', () => {
    let service: TestService;
    let jwks: { url: string; close(): Promise<void> };
    const keys: Record<string, { privateKey: CryptoKey; publicKey: CryptoKey; kid: string }> = {};

    before(async () => {
      const published: JWK[] = [];
      for (const alg of ['RS256', 'ES256', 'EdDSA']) {
        const pair = await generateKeyPair(alg, { extractable: true });
        keys[alg] = { ...pair, kid: `key-${alg}` };
        published.push({ ...(await exportJWK(pair.publicKey)), kid: `key-${alg}`, alg });
      }
      jwks = await serveJwks(published);
      // No NUMONIC_JWT_SECRET: the keys come from the JWKS alone, so HS256 is not allowed at all.
      service = await startTestService({ NUMONIC_JWKS_URL: jwks.url, NUMONIC_JWT_SECRET: '' });
    });
    after(async () => {
      await service.close();
      await jwks.close();
    });

    for (const alg of ['RS256', 'ES256', 'EdDSA']) {
      it(`accepts an ${alg} token signed by a published key`, async () => {
        const { privateKey, kid } = keys[alg]!;
        const token = await new SignJWT({ tenant_id: randomUUID() })
          .setProtectedHeader({ alg, kid })
          .setExpirationTime('5m')
          .sign(privateKey);
        const res = await request(service.url, 'GET', '/api/v1/domains', { token });

        assert.equal(res.status, 200);
      });
    }

    it('refuses HS256 signed with the RSA public key as the secret', async () => {
      const { publicKey, kid } = keys.RS256!;
      const pem = await exportSPKI(publicKey);
      const header = base64url({ alg: 'HS256', typ: 'JWT', kid });
      const payload = base64url({ tenant_id: randomUUID(), exp: inAnHour() });
      const signature = createHmac('sha256', pem)
        .update(`${header}.${payload}`)
        .digest('base64url');

      await expectUnauthorized(service, `Bearer ${header}.${payload}.${signature}`);
    });

    it('refuses any HS256 token, since no secret is configured', async () => {
      const token = await new SignJWT({ tenant_id: randomUUID() })
        .setProtectedHeader({ alg: 'HS256' })
        .setExpirationTime('5m')
        .sign(new TextEncoder().encode('a-secret-long-enough-for-hs256-tokens'));

      await expectUnauthorized(service, `Bearer ${token}`);
    });

    it('refuses a token signed by a key that is not published', async () => {
      const stranger = await generateKeyPair('RS256');
      const token = await new SignJWT({ tenant_id: randomUUID() })
        .setProtectedHeader({ alg: 'RS256', kid: 'key-RS256' })
        .setExpirationTime('5m')
        .sign(stranger.privateKey);

      await expectUnauthorized(service, `Bearer ${token}`);
    });

    it('refuses an RS256 token without exp', async () => {
      const { privateKey, kid } = keys.RS256!;
      const token = await new SignJWT({ tenant_id: randomUUID() })
        .setProtectedHeader({ alg: 'RS256', kid })
        .sign(privateKey);

      await expectUnauthorized(service, `Bearer ${token}`);
    });
  });

  describe('with both an HS256 secret and a JWKS URL', () => {
    let service: TestService;
    let jwks: { url: string; close(): Promise<void> };
    let rsa: { privateKey: CryptoKey; publicKey: CryptoKey };

    before(async () => {
      rsa = await generateKeyPair('RS256', { extractable: true });
      jwks = await serveJwks([{ ...(await exportJWK(rsa.publicKey)), kid: 'rsa', alg: 'RS256' }]);
      service = await startTestService({ NUMONIC_JWKS_URL: jwks.url });
    });
    after(async () => {
      await service.close();
      await jwks.close();
    });

    it('accepts an HS256 token signed with the secret', async () => {
      const res = await request(service.url, 'GET', '/api/v1/domains', {
        token: await service.token(),
      });

      assert.equal(res.status, 200);
    });

    it('accepts an RS256 token signed by the published key', async () => {
      const token = await new SignJWT({ tenant_id: randomUUID() })
        .setProtectedHeader({ alg: 'RS256', kid: 'rsa' })
        .setExpirationTime('5m')
        .sign(rsa.privateKey);
      const res = await request(service.url, 'GET', '/api/v1/domains', { token });

      assert.equal(res.status, 200);
    });

    it('refuses HS256 signed with the published RSA key, as PEM or as JWK', async () => {
      const header = base64url({ alg: 'HS256', typ: 'JWT', kid: 'rsa' });
      const payload = base64url({ tenant_id: randomUUID(), exp: inAnHour() });
      const jwk = await exportJWK(rsa.publicKey);
      const forgeries = [await exportSPKI(rsa.publicKey), JSON.stringify(jwk), jwk.n!].map((key) =>
        createHmac('sha256', key).update(`${header}.${payload}`).digest('base64url'),
      );

      for (const signature of forgeries) {
        await expectUnauthorized(service, `Bearer ${header}.${payload}.${signature}`);
      }
    });

    it('refuses alg "none" carrying the published key id', async () => {
      const header = base64url({ alg: 'none', typ: 'JWT', kid: 'rsa' });
      const payload = base64url({ tenant_id: randomUUID(), exp: inAnHour() });

      await expectUnauthorized(service, `Bearer ${header}.${payload}.`);
    });
  });

  describe('remembering tokens that verified', () => {
    const secret = 'a-secret-long-enough-for-hs256-tokens';
    const clock = new ManualClock();
    const authenticate = createAuthenticator({
      jwt: { secret, jwksUrl: undefined, issuer: undefined, audience: undefined },
      clock,
    });
    const inSeconds = (seconds: number) => Math.floor(clock.now() / 1000) + seconds;

    it('answers each remembered token with its own tenant', async () => {
      const tenants = [randomUUID(), randomUUID()];
      const tokens = await Promise.all(
        tenants.map((tenant_id) => hs256(secret, { tenant_id, exp: inSeconds(600) })),
      );

      for (let round = 0; round < 3; round += 1) {
        for (const [index, token] of tokens.entries()) {
          assert.equal(await authenticate(`Bearer ${token}`), tenants[index]);
        }
      }
    });

    it('refuses a remembered token once it has expired', async () => {
      const token = await hs256(secret, { tenant_id: randomUUID(), exp: inSeconds(10) });
      await authenticate(`Bearer ${token}`);

      clock.advance(41_000); // past exp and the 30 s tolerance, within the minute it is remembered
      await assert.rejects(async () => authenticate(`Bearer ${token}`), { code: 'UNAUTHORIZED' });
    });

    it('verifies a token that differs from a remembered one only in its signature', async () => {
      const token = await hs256(secret, { tenant_id: randomUUID(), exp: inSeconds(600) });
      await authenticate(`Bearer ${token}`);
      const [header, payload, signature] = token.split('.');
      const other = signature!.startsWith('A') ? 'B' : 'A';
      const forged = `${header}.${payload}.${other}${signature!.slice(1)}`;

      await assert.rejects(async () => authenticate(`Bearer ${forged}`), { code: 'UNAUTHORIZED' });
    });
  });
});
