import assert from 'node:assert/strict';
import { Writable } from 'node:stream';

import { pino } from 'pino';

import type { SesIdentities } from '../../service/ses/identities';
import { SimulatedSesIdentities } from '../../service/ses/simulated';
import { request } from '../helpers/http';
import { startTestService, type TestService } from '../helpers/service';

describe('the request log', () => {
  let service: TestService;
  let lines: Record<string, unknown>[];
  let raw: string;

  before(async () => {
    lines = [];
    raw = '';
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        raw += chunk.toString();
        lines.push(JSON.parse(chunk.toString()));
        done();
      },
    });
    service = await startTestService({}, { logger: pino({ level: 'info' }, sink) });
  });
  after(() => service.close());

  async function logOf(send: () => Promise<unknown>): Promise<Record<string, unknown>> {
    const before = lines.length;
    await send();
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(lines.length, before + 1, 'expected exactly one line for the request');
    return lines[lines.length - 1]!;
  }

  it('writes one line per request with method, route pattern, status, duration and request id', async () => {
    const token = await service.token();
    const created = await request(service.url, 'POST', '/api/v1/domains', {
      token,
      body: { domain_name: 'logged.com' },
    });
    const line = await logOf(() =>
      request(service.url, 'GET', `/api/v1/domains/${created.body.domain_id}`, { token }),
    );

    assert.equal(line.method, 'GET');
    assert.equal(line.route, '/api/v1/domains/:id');
    assert.equal(line.status, 200);
    assert.equal(typeof line.duration_ms, 'number');
    assert.match(String(line.request_id), /^[0-9a-f-]{36}$/);
  });

  it('records the error code of a failed request', async () => {
    const line = await logOf(async () =>
      request(service.url, 'GET', '/api/v1/domains/999999', { token: await service.token() }),
    );

    assert.equal(line.status, 404);
    assert.equal(line.error_code, 'NOT_FOUND');
  });

  describe('when a request fails inside a route', () => {
    it('writes the route pattern, not the part left after the router', async () => {
      const token = await service.token();
      await request(service.url, 'POST', '/api/v1/domains', {
        token,
        body: { domain_name: 'logged-twice.com' },
      });

      const conflict = await logOf(() =>
        request(service.url, 'POST', '/api/v1/domains', {
          token,
          body: { domain_name: 'logged-twice.com' },
        }),
      );
      const missing = await logOf(() =>
        request(service.url, 'GET', '/api/v1/domains/999999', { token }),
      );

      assert.deepEqual([conflict.error_code, conflict.route], ['CONFLICT', '/api/v1/domains']);
      assert.deepEqual([missing.error_code, missing.route], ['NOT_FOUND', '/api/v1/domains/:id']);
    });
  });

  it('echoes a sane X-Request-Id', async () => {
    const line = await logOf(() =>
      request(service.url, 'GET', '/healthz', { headers: { 'x-request-id': 'trace-42' } }),
    );

    assert.equal(line.request_id, 'trace-42');
  });

  it('never writes a bearer token, valid or not', async () => {
    const valid = await service.token();
    const forged = `${valid.slice(0, -6)}AAAAAA`;
    await logOf(() => request(service.url, 'GET', '/api/v1/domains', { token: valid }));
    await logOf(() => request(service.url, 'GET', '/api/v1/domains', { token: forged }));

    assert.ok(!raw.includes(valid.split('.')[2]!), 'the valid token reached the log');
    assert.ok(!raw.includes(forged.split('.')[2]!), 'the forged token reached the log');
    assert.doesNotMatch(raw, /authorization/i);
  });

  describe('when the client gives up before the answer', () => {
    let slow: TestService;
    const slowLines: Record<string, unknown>[] = [];

    before(async () => {
      const sink = new Writable({
        write(chunk: Buffer, _encoding, done) {
          slowLines.push(JSON.parse(chunk.toString()));
          done();
        },
      });
      slow = await startTestService(
        { NUMONIC_SIMULATED_SES_DELAY_MS: '300' },
        { logger: pino({ level: 'info' }, sink) },
      );
    });
    after(() => slow.close());

    it('still writes its one line, marked aborted', async () => {
      const token = await slow.token();
      await assert.rejects(
        fetch(`${slow.url}/api/v1/domains`, {
          method: 'POST',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          body: JSON.stringify({ domain_name: 'gave-up.com' }),
          signal: AbortSignal.timeout(50),
        }),
      );
      for (let waited = 0; slowLines.length === 0 && waited < 2000; waited += 10) {
        await new Promise((resolve) => setTimeout(resolve, 10));
      }

      assert.equal(slowLines.length, 1);
      assert.equal(slowLines[0]!.aborted, true);
      assert.equal(slowLines[0]!.route, '/api/v1/domains');
    });
  });

  describe('when a request meets a bug', () => {
    let broken: TestService;
    const brokenLines: Record<string, any>[] = [];

    before(async () => {
      const sink = new Writable({
        write(chunk: Buffer, _encoding, done) {
          brokenLines.push(JSON.parse(chunk.toString()));
          done();
        },
      });
      const ses = new SimulatedSesIdentities({ region: 'us-east-1' });
      ses.create = () => Promise.reject(new Error('internal detail of the bug'));
      broken = await startTestService(
        {},
        { ses: ses as SesIdentities, logger: pino({ level: 'info' }, sink) },
      );
    });
    after(() => broken.close());

    it('logs the stack of the 500 and keeps it out of the answer', async () => {
      const res = await request(broken.url, 'POST', '/api/v1/domains', {
        token: await broken.token(),
        body: { domain_name: 'buggy.com' },
      });
      await new Promise((resolve) => setImmediate(resolve));
      const logged = brokenLines.find((line) => line.err !== undefined);

      assert.equal(res.body.error.code, 'INTERNAL_ERROR');
      assert.doesNotMatch(JSON.stringify(res.body), /internal detail|at /);
      assert.match(String(logged?.err?.stack), /internal detail of the bug\n\s+at /);
      assert.equal(logged?.request_id, res.headers.get('x-request-id'));
    });
  });
});
