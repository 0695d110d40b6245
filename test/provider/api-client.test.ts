import assert from 'node:assert/strict';

import { requestJson, type NumonicApiError } from '../../provider/api-client';
import {
  closedPort,
  errorBody,
  sendJson,
  startStubApi,
  type StubApi,
  type StubHandler,
} from './stub-api';

const TOKEN = 'eyJhbGciOiJIUzI1NiJ9.eyJ0ZW5hbnRfaWQiOiJzZWNyZXQtdGVuYW50In0.c2lnbmF0dXJlLXNlY3JldA';

async function failure(promise: Promise<unknown>): Promise<NumonicApiError> {
  try {
    await promise;
  } catch (error) {
    return error as NumonicApiError;
  }
  assert.fail('the request succeeded');
}

describe('requestJson', () => {
  let stub: StubApi | undefined;
  const target = () => ({ apiUrl: stub?.url ?? '', apiToken: TOKEN });

  afterEach(async () => {
    await stub?.close();
    stub = undefined;
  });

  describe('when the service answers 200', () => {
    it('returns the parsed body and sends the token as a bearer token', async () => {
      stub = await startStubApi((_request, response) => sendJson(response, 200, { domain_id: 7 }));

      const body = await requestJson(
        { apiUrl: `${stub.url}/`, apiToken: TOKEN },
        'POST',
        '/api/v1/domains',
        { body: { domain_name: 'yourapp.com' } },
      );

      assert.deepEqual(body, { domain_id: 7 });
      assert.equal(stub.requests[0]?.url, '/api/v1/domains');
      assert.equal(stub.requests[0]?.authorization, `Bearer ${TOKEN}`);
      assert.deepEqual(JSON.parse(stub.requests[0]?.body ?? ''), { domain_name: 'yourapp.com' });
    });

    it('keeps a path prefix of the base URL', async () => {
      stub = await startStubApi((_request, response) => sendJson(response, 200, []));

      await requestJson({ ...target(), apiUrl: `${stub.url}/numonic` }, 'GET', '/api/v1/domains');

      assert.equal(stub.requests[0]?.url, '/numonic/api/v1/domains');
    });
  });

  describe('when the service does not answer in time', () => {
    it('fails with TIMEOUT once the request timeout passes', async () => {
      stub = await startStubApi(() => {});
      const started = Date.now();

      const error = await failure(
        requestJson(target(), 'GET', '/api/v1/domains/1', {
          timeoutMs: 200,
          maxAttempts: 1,
        }),
      );

      assert.equal(error.code, 'TIMEOUT');
      assert.ok(Date.now() - started < 2_000);
      assert.ok(!error.message.includes(TOKEN));
    });

    it('retries a GET that timed out', async () => {
      stub = await startStubApi((_request, response, hit) => {
        if (hit > 1) sendJson(response, 200, { ok: true });
      });

      const body = await requestJson(target(), 'GET', '/x', {
        timeoutMs: 200,
        baseDelayMs: 10,
      });

      assert.deepEqual(body, { ok: true });
      assert.equal(stub.requests.length, 2);
    });

    it('never repeats a POST that timed out, since it may have been registered', async () => {
      stub = await startStubApi(() => {});

      const error = await failure(
        requestJson(target(), 'POST', '/api/v1/domains', {
          body: { domain_name: 'yourapp.com' },
          timeoutMs: 200,
          baseDelayMs: 10,
        }),
      );

      assert.equal(error.code, 'TIMEOUT');
      assert.equal(stub.requests.length, 1);
    });
  });

  describe('when the service answers 429 and then 200', () => {
    it('waits at least Retry-After before trying again, then returns the body', async () => {
      const answeredAt: number[] = [];
      stub = await startStubApi((_request, response, hit) => {
        answeredAt.push(Date.now());
        if (hit === 1) {
          const body = errorBody('RATE_LIMITED', 'Too many requests.');
          sendJson(response, 429, body, { 'retry-after': '1' });
        } else {
          sendJson(response, 200, { domain_id: 1 });
        }
      });

      const body = await requestJson(target(), 'POST', '/api/v1/domains', {
        body: { domain_name: 'yourapp.com' },
        baseDelayMs: 10,
      });

      assert.deepEqual(body, { domain_id: 1 });
      assert.equal(stub.requests.length, 2);
      assert.ok((answeredAt[1] ?? 0) - (answeredAt[0] ?? 0) >= 950);
    });
  });

  describe('when the service answers 503 every time', () => {
    it('gives up after maxAttempts with the service code UPSTREAM_UNAVAILABLE', async () => {
      stub = await startStubApi((_request, response) =>
        sendJson(response, 503, errorBody('UPSTREAM_UNAVAILABLE', 'SES is unavailable.')),
      );

      const error = await failure(
        requestJson(target(), 'POST', '/api/v1/domains', {
          body: { domain_name: 'yourapp.com' },
          maxAttempts: 3,
          baseDelayMs: 10,
        }),
      );

      assert.equal(error.code, 'UPSTREAM_UNAVAILABLE');
      assert.equal(error.status, 503);
      assert.equal(stub.requests.length, 3);
    });
  });

  describe('when the network fails', () => {
    it('retries a GET whose connection was dropped, then returns the body', async () => {
      stub = await startStubApi((_request, response, hit) => {
        if (hit === 1) {
          response.socket?.destroy();
        } else {
          sendJson(response, 200, { domain_id: 3 });
        }
      });

      const body = await requestJson(target(), 'GET', '/api/v1/domains/3', {
        baseDelayMs: 10,
      });

      assert.deepEqual(body, { domain_id: 3 });
      assert.equal(stub.requests.length, 2);
    });

    it('never repeats a POST whose connection dropped, as it may have registered', async () => {
      stub = await startStubApi((_request, response) => {
        response.socket?.destroy();
      });

      const error = await failure(
        requestJson(target(), 'POST', '/api/v1/domains', {
          body: { domain_name: 'yourapp.com' },
          baseDelayMs: 10,
        }),
      );

      assert.equal(error.code, 'NETWORK_ERROR');
      assert.equal(stub.requests.length, 1);
    });

    it('retries a POST whose connection was refused, since it never left', async () => {
      const port = await closedPort();
      let late: Promise<StubApi> | undefined;
      setTimeout(() => {
        const created: StubHandler = (_request, response) => {
          sendJson(response, 201, { domain_id: 4 });
        };
        late = startStubApi(created, port);
      }, 150);

      const body = await requestJson(
        { apiUrl: `http://127.0.0.1:${port}`, apiToken: TOKEN },
        'POST',
        '/api/v1/domains',
        { body: { domain_name: 'yourapp.com' }, maxAttempts: 8, baseDelayMs: 100, maxDelayMs: 200 },
      );

      stub = await late;
      assert.deepEqual(body, { domain_id: 4 });
    });

    it('fails with NETWORK_ERROR naming the cause, without the token or a cause', async () => {
      const port = await closedPort();

      const error = await failure(
        requestJson({ apiUrl: `http://127.0.0.1:${port}`, apiToken: TOKEN }, 'GET', '/x', {
          maxAttempts: 2,
          baseDelayMs: 10,
        }),
      );

      assert.equal(error.code, 'NETWORK_ERROR');
      assert.match(error.message, /ECONNREFUSED/);
      assert.equal(error.cause, undefined);
      const everything = { ...error, message: error.message, stack: error.stack };
      assert.ok(!JSON.stringify(everything).includes(TOKEN));
    });
  });

  describe('when the service answers an error', () => {
    it('carries its code, status and message but never the token, even if echoed', async () => {
      stub = await startStubApi((_request, response) =>
        sendJson(response, 409, errorBody('CONFLICT', `yourapp.com is taken (you sent ${TOKEN}).`)),
      );

      const error = await failure(
        requestJson(target(), 'POST', '/api/v1/domains', {
          body: { domain_name: 'yourapp.com' },
        }),
      );

      assert.equal(error.code, 'CONFLICT');
      assert.equal(error.status, 409);
      assert.match(error.message, /409 CONFLICT: yourapp\.com is taken/);
      assert.ok(!error.message.includes(TOKEN));
      assert.ok(!(error.stack ?? '').includes(TOKEN));
      assert.equal(stub.requests.length, 1);
    });

    it('carries the validation details', async () => {
      const details = [{ path: 'domain_name', message: 'is a public suffix' }];
      stub = await startStubApi((_request, response) =>
        sendJson(response, 422, errorBody('VALIDATION_ERROR', 'The body is invalid.', details)),
      );

      const error = await failure(
        requestJson(target(), 'POST', '/api/v1/domains', {
          body: { domain_name: 'co.uk' },
        }),
      );

      assert.equal(error.code, 'VALIDATION_ERROR');
      assert.deepEqual(error.details, details);
      assert.match(error.message, /domain_name: is a public suffix/);
    });

    it('reports a body that is not the contract error as UNEXPECTED_RESPONSE', async () => {
      stub = await startStubApi((_request, response) => {
        response.writeHead(502, { 'content-type': 'text/html' });
        response.end('<html>Bad gateway</html>');
      });

      const error = await failure(requestJson(target(), 'GET', '/api/v1/domains/1'));

      assert.equal(error.code, 'UNEXPECTED_RESPONSE');
      assert.equal(error.status, 502);
      assert.equal(stub.requests.length, 1);
    });
  });
});
