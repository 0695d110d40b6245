// What each benchmark sends, per server, and how autocannon's result becomes our figures.
//
// Throughput is counted from 2xx answers only, and latency percentiles from 2xx answers only
// (`excludeErrorStats`): a server that answers 404 or 500 quickly must not look fast. Non-2xx
// answers, connection errors and timeouts are reported beside the figures instead.

import { randomBytes } from 'node:crypto';

import autocannon from 'autocannon';

import { mintToken } from '../service/dev-token';
import { tenantOfId, type Dataset } from './fixtures';
import type { ServerKind } from './servers';

export type Route = 'get' | 'list' | 'post';

export const ROUTES: readonly Route[] = ['get', 'list', 'post'];

export const ROUTE_LABELS: Record<Route, string> = {
  get: 'GET by id',
  list: 'list of one tenant',
  post: 'POST new domain',
};

export interface LoadSettings {
  connections: number;
  durationSeconds: number;
}

export interface LoadResult {
  /** 2xx answers per second over the whole run. */
  okPerSecond: number;
  /** Latency of 2xx answers, in milliseconds. */
  p50Ms: number;
  p99Ms: number;
  ok: number;
  non2xx: number;
  /** Connection errors, timeouts included. */
  errors: number;
  timeouts: number;
  /** Answers by status code, e.g. `{ '201': 4000, '500': 3 }`. */
  statusCodes: Record<string, number>;
  durationSeconds: number;
}

/** Everything the requests of one round need: tokens are minted once, not per request. */
export interface Traffic {
  dataset: Dataset;
  /** `Bearer <token>` by tenant index, for the service. */
  bearers: string[];
}

export async function prepareTraffic(dataset: Dataset, jwtSecret: string): Promise<Traffic> {
  const bearers = await Promise.all(
    dataset.tenants.map(
      async (tenantId) => `Bearer ${await mintToken(jwtSecret, { tenantId, expiresIn: '6h' })}`,
    ),
  );
  return { dataset, bearers };
}

// Names of new domains are unique across every POST of this process, and never collide with the
// preloaded `domain-<id>.numonic-bench.com`.
const runTag = randomBytes(4).toString('hex');
let created = 0;

function newDomainName(): string {
  created += 1;
  return `new-${runTag}-${created}.numonic-bench.com`;
}

function pick(count: number): number {
  return Math.floor(Math.random() * count);
}

/** The request of `route` against a server of `kind`, rebuilt for every request sent. */
function requestFor(kind: ServerKind, route: Route, traffic: Traffic): autocannon.Request {
  const { dataset, bearers } = traffic;
  const { tenants } = dataset;
  const apiBase = kind === 'json-server' ? '/domains' : '/api/v1/domains';

  if (route === 'get') {
    return {
      method: 'GET',
      setupRequest: (request) => {
        const id = pick(dataset.size) + 1;
        request.path = `${apiBase}/${id}`;
        if (kind === 'service') {
          request.headers = { authorization: bearers[(id - 1) % tenants.length] as string };
        }
        return request;
      },
    };
  }

  if (route === 'list') {
    return {
      method: 'GET',
      setupRequest: (request) => {
        const tenant = pick(tenants.length);
        if (kind === 'service') {
          request.path = apiBase;
          request.headers = { authorization: bearers[tenant] as string };
        } else {
          request.path = `${apiBase}?tenant_id=${tenants[tenant]}`;
        }
        return request;
      },
    };
  }

  return {
    method: 'POST',
    setupRequest: (request) => {
      const tenant = pick(tenants.length);
      const name = newDomainName();
      request.path = apiBase;
      if (kind === 'service') {
        request.headers = {
          authorization: bearers[tenant] as string,
          'content-type': 'application/json',
        };
        request.body = JSON.stringify({ domain_name: name });
      } else if (kind === 'ceiling') {
        request.headers = {
          'x-tenant-id': tenants[tenant] as string,
          'content-type': 'application/json',
        };
        request.body = JSON.stringify({ domain_name: name });
      } else {
        // json-server stores what it is sent, so its client sends the whole record.
        request.headers = { 'content-type': 'application/json' };
        request.body = JSON.stringify(peerRecord(tenants[tenant] as string, name));
      }
      return request;
    },
  };
}

const SAMPLE_TOKEN = 'abcdefghijklmnopqrstuvwxyz012345';

/** A new domain as a json-server client would post it: the API's detail shape without an id. */
function peerRecord(tenantId: string, name: string): object {
  return {
    tenant_id: tenantId,
    domain_name: name,
    verification_status: 'Pending',
    identity_arn: `arn:aws:ses:us-east-1:000000000000:identity/${name}`,
    configuration_set_name: 'numonic-emails',
    created_at: new Date().toISOString(),
    verified_at: null,
    checked_at: null,
    dns_records: [
      { type: 'TXT', name: `_amazonses.${name}`, value: `${SAMPLE_TOKEN}/abcdefghijk=` },
      ...[1, 2, 3].map(() => ({
        type: 'CNAME',
        name: `${SAMPLE_TOKEN}._domainkey.${name}`,
        value: `${SAMPLE_TOKEN}.dkim.amazonses.com`,
      })),
    ],
  };
}

/** Loads `url` with one route at `settings`; resolves with 2xx-only figures. */
export async function runLoad(
  url: string,
  kind: ServerKind,
  route: Route,
  traffic: Traffic,
  settings: LoadSettings,
): Promise<LoadResult> {
  const result = await autocannon({
    url,
    connections: settings.connections,
    duration: settings.durationSeconds,
    requests: [requestFor(kind, route, traffic)],
    excludeErrorStats: true,
  });

  const statusCodes: Record<string, number> = {};
  for (const [code, stats] of Object.entries(result.statusCodeStats ?? {})) {
    statusCodes[code] = stats?.count ?? 0;
  }
  const ok = result['2xx'];
  return {
    okPerSecond: ok / result.duration,
    p50Ms: ok > 0 ? result.latency.p50 : Number.NaN,
    p99Ms: ok > 0 ? result.latency.p99 : Number.NaN,
    ok,
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    statusCodes,
    durationSeconds: result.duration,
  };
}

/**
 * Sends one request of `route` as the load would and checks the answer is the real thing: the
 * domain asked for, the tenant's whole list, a created domain. A load of fast empty answers or
 * errors would otherwise pass for throughput.
 */
export async function checkRoute(
  url: string,
  kind: ServerKind,
  route: Route,
  traffic: Traffic,
): Promise<void> {
  const template = requestFor(kind, route, traffic);
  const setup = template.setupRequest as (request: autocannon.Request, context: object) => unknown;
  const request = setup({ method: template.method, headers: {} }, {}) as autocannon.Request;
  const response = await fetch(`${url}${request.path}`, {
    method: request.method,
    headers: request.headers as Record<string, string>,
    ...(request.body === undefined ? {} : { body: request.body as string }),
  });
  const body: unknown = await response.json();
  const fail = (why: string) =>
    new Error(`${kind} ${route} ${request.path}: ${why} (status ${response.status})`);

  const expected = route === 'post' ? 201 : 200;
  if (response.status !== expected) throw fail(`expected ${expected}`);
  if (route === 'get') {
    const id = Number(request.path?.split('/').pop());
    const record = body as { domain_id?: number; id?: number };
    if ((record.domain_id ?? record.id) !== id) throw fail(`answered another domain than ${id}`);
  }
  if (route === 'list') {
    const perTenant = Math.floor(traffic.dataset.size / traffic.dataset.tenants.length);
    const length = Array.isArray(body) ? body.length : -1;
    if (length < perTenant) throw fail(`listed ${length} domains, expected at least ${perTenant}`);
  }
  if (route === 'post') {
    const sent = JSON.parse(request.body as string) as { domain_name: string };
    if ((body as { domain_name?: string }).domain_name !== sent.domain_name) {
      throw fail('did not answer the created domain');
    }
  }
}
