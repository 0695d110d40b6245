// The ceiling: a bare Express 5 server answering the service's three benchmarked routes from
// in-memory Maps, with no authentication, no validation beyond a type check, no logging and no
// durability. It shapes responses with the service's own view functions and mints tokens with the
// same simulated SES, so the gap between it and the service is what auth, validation, rate-limit
// plumbing and durable writes cost, not a difference in payload.
//
// Run as its own process by `bench/run.ts`: `PORT=0 DATA_FILE=<store file> node ceiling-server.js`
// prints `listening on http://127.0.0.1:<port>`. The tenant comes from `?tenant_id=` (list) or the
// `x-tenant-id` header (create), since there is no token to carry it.

import { readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

import express from 'express';

import { toDetail, toSummary } from '../service/domains/view';
import { SimulatedSesIdentities } from '../service/ses/simulated';
import type { StoreDocument } from '../service/store/json-file-store';
import type { DomainRecord } from '../service/store/store';

const byId = new Map<number, DomainRecord>();
const byName = new Map<string, DomainRecord>();
const byTenant = new Map<string, DomainRecord[]>();
let nextId = 1;

function put(record: DomainRecord): void {
  byId.set(record.id, record);
  byName.set(record.name, record);
  let list = byTenant.get(record.tenantId);
  if (list === undefined) {
    list = [];
    byTenant.set(record.tenantId, list);
  }
  list.push(record);
}

function load(file: string): void {
  const document = JSON.parse(readFileSync(file, 'utf8')) as StoreDocument;
  for (const key in document.domains) {
    put(document.domains[key] as DomainRecord);
  }
  nextId = document.nextId;
}

function createCeilingApp(): express.Express {
  const ses = new SimulatedSesIdentities({ region: 'us-east-1' });
  const app = express();
  // Express defaults otherwise, ETags included, as the service has them.
  app.disable('x-powered-by');

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });

  app.get('/api/v1/domains/:id', (req, res) => {
    const record = byId.get(Number(req.params.id));
    if (record === undefined) {
      res.status(404).json({ error: { code: 'NOT_FOUND', message: 'Domain not found.' } });
      return;
    }
    res.json(toDetail(record));
  });

  app.get('/api/v1/domains', (req, res) => {
    const tenantId = String(req.query.tenant_id ?? req.get('x-tenant-id') ?? '');
    res.json((byTenant.get(tenantId) ?? []).map(toSummary));
  });

  app.post('/api/v1/domains', express.json({ limit: '16kb' }), async (req, res) => {
    const name: unknown = req.body?.domain_name;
    const tenantId = req.get('x-tenant-id');
    if (typeof name !== 'string' || tenantId === undefined) {
      res.status(422).json({ error: { code: 'VALIDATION_ERROR', message: 'Bad request.' } });
      return;
    }
    if (byName.has(name)) {
      res.status(409).json({ error: { code: 'CONFLICT', message: 'Already registered.' } });
      return;
    }

    const now = new Date().toISOString();
    const record: DomainRecord = {
      id: nextId,
      tenantId,
      name,
      ...(await ses.create(name)),
      configurationSet: 'numonic-emails',
      verificationStatus: 'Pending',
      createdAt: now,
      updatedAt: now,
    };
    nextId += 1;
    put(record);

    res.status(201).json(toDetail(record));
  });

  return app;
}

function main(): void {
  const dataFile = process.env.DATA_FILE;
  if (dataFile !== undefined) {
    load(dataFile);
  }

  const server = http.createServer(createCeilingApp());
  server.listen(Number(process.env.PORT ?? 0), process.env.HOST ?? '127.0.0.1', () => {
    const { address, port } = server.address() as AddressInfo;
    console.log(`ceiling listening on http://${address}:${port} (${byId.size} domains)`);
  });
  process.on('SIGTERM', () => process.exit(0));
}

main();
