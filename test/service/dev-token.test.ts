import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';

import { decodeJwt } from 'jose';

import { loadOrCreateDevSecret } from '../../service/dev-token';
import { spawnService } from '../helpers/child-service';
import { request } from '../helpers/http';
import { makeTempDir, removeTempDir } from '../helpers/service';

const TOKEN_ENTRY = path.resolve(__dirname, '..', '..', 'service', 'token.js');
const run = promisify(execFile);

describe('the development secret', () => {
  let dir: string;
  let dataFile: string;
  let secretFile: string;

  beforeEach(() => {
    dir = makeTempDir();
    dataFile = path.join(dir, 'data', 'numonic.json');
    secretFile = path.join(dir, 'data', 'jwt-secret');
  });
  afterEach(() => removeTempDir(dir));

  it('is created once, mode 0600, and read back the same afterwards', async () => {
    const first = await loadOrCreateDevSecret(dataFile);
    const second = await loadOrCreateDevSecret(dataFile);

    assert.equal(second, first);
    assert.ok(Buffer.byteLength(first) >= 32);
    assert.equal(statSync(secretFile).mode & 0o777, 0o600);
  });

  describe('when a crash left the file empty', () => {
    it('writes a new secret into it', async () => {
      await loadOrCreateDevSecret(dataFile);
      writeFileSync(secretFile, '');

      const secret = await loadOrCreateDevSecret(dataFile);

      assert.ok(Buffer.byteLength(secret) >= 32);
      assert.equal(readFileSync(secretFile, 'utf8').trim(), secret);
    });
  });

  describe('when the file holds a secret under 32 bytes', () => {
    it('refuses it, naming the file', async () => {
      await loadOrCreateDevSecret(dataFile);
      writeFileSync(secretFile, 'too-short\n');

      await assert.rejects(loadOrCreateDevSecret(dataFile), (error: Error) => {
        assert.ok(error.message.includes(secretFile), error.message);
        return true;
      });
    });
  });
});

describe('npm run token', () => {
  let dir: string;

  beforeEach(() => {
    dir = makeTempDir();
  });
  afterEach(() => removeTempDir(dir));

  it('mints a token for --tenant that the service started on the same folder accepts', async () => {
    const tenant = randomUUID();
    const { stdout } = await run(process.execPath, [TOKEN_ENTRY, '--tenant', tenant], {
      cwd: dir,
      env: { PATH: process.env.PATH ?? '' },
    });
    const token = stdout.trim();
    const service = await spawnService({ PORT: '0', LOG_LEVEL: 'silent' }, dir);
    try {
      const res = await request(service.url, 'POST', '/api/v1/domains', {
        token,
        body: { domain_name: 'minted.com' },
      });

      assert.equal(decodeJwt(token).tenant_id, tenant);
      assert.equal(res.status, 201);
      assert.equal(res.body.tenant_id, tenant);
    } finally {
      service.child.kill('SIGTERM');
      await service.exited;
    }
  });

  it('refuses a --tenant that is not a UUID', async () => {
    await assert.rejects(
      run(process.execPath, [TOKEN_ENTRY, '--tenant', 'acme'], { cwd: dir, env: {} }),
      (error: { code: number; stderr: string }) => {
        assert.equal(error.code, 1);
        assert.match(error.stderr, /--tenant must be a UUID/);
        return true;
      },
    );
  });

  it('refuses to mint when the service takes its keys from NUMONIC_JWKS_URL only', async () => {
    const env = { NUMONIC_JWKS_URL: 'https://auth.numonic.com/.well-known/jwks.json' };

    await assert.rejects(
      run(process.execPath, [TOKEN_ENTRY], { cwd: dir, env }),
      (error: { code: number; stderr: string }) => {
        assert.equal(error.code, 1);
        assert.match(error.stderr, /NUMONIC_JWKS_URL/);
        return true;
      },
    );
  });
});
