// A small real HTTP server on an ephemeral loopback port, answering as each test scripts it: for
// the client's edge cases and for verification states the simulated service does not produce.

import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface StubRequest {
  method: string;
  url: string;
  authorization: string | undefined;
  body: string;
}

export type StubHandler = (
  request: StubRequest,
  response: http.ServerResponse,
  hit: number,
) => void | Promise<void>;

export interface StubApi {
  url: string;
  port: number;
  /** Every request received, in order. */
  requests: StubRequest[];
  close(): Promise<void>;
}

/** Starts a stub on `127.0.0.1` (on `port` when given); `hit` counts from 1. */
export async function startStubApi(handler: StubHandler, port = 0): Promise<StubApi> {
  const requests: StubRequest[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (body += chunk));
    req.on('end', () => {
      const request = {
        method: req.method ?? '',
        url: req.url ?? '',
        authorization: req.headers.authorization,
        body,
      };
      requests.push(request);
      Promise.resolve(handler(request, res, requests.length)).catch(() => res.destroy());
    });
  });

  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const bound = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${bound}`,
    port: bound,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Answers `status` with a JSON body and optional headers. */
export function sendJson(
  response: http.ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  response.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
  response.end(JSON.stringify(body));
}

/** The contract's error body. */
export function errorBody(code: string, message: string, details?: unknown[]): unknown {
  return { error: { code, message, ...(details === undefined ? {} : { details }) } };
}

/** A loopback port that was free a moment ago and has nothing listening now. */
export async function closedPort(): Promise<number> {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
