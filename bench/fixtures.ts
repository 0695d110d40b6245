// The data every server in one round starts from: N domains spread evenly over 100 tenants,
// written once in the service's own store format and once as a json-server database holding the
// same records as the API shows them. Domain `id` belongs to tenant `(id - 1) % 100`, so a load
// generator can pick any id and know whose token to send without a lookup table.

import { randomUUID } from 'node:crypto';
import { statSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import { toDetail } from '../service/domains/view';
import { SimulatedSesIdentities } from '../service/ses/simulated';
import { serializeStoreFile, STORE_FORMAT } from '../service/store/json-file-store';
import type { DomainRecord } from '../service/store/store';

export const TENANT_COUNT = 100;

/** The preloaded data of one round, and where each server finds it. */
export interface Dataset {
  size: number;
  tenants: string[];
  /** The service's store file; the ceiling server loads it too. */
  storeFile: string;
  storeFileBytes: number;
  /** json-server's database: `{"domains":[...]}` with the same records in the API's shape. */
  peerFile: string;
  peerFileBytes: number;
}

/** The tenant owning preloaded domain `id`. */
export function tenantOfId(tenants: readonly string[], id: number): string {
  return tenants[(id - 1) % tenants.length] as string;
}

export function preloadedName(id: number): string {
  return `domain-${id}.numonic-bench.com`;
}

/** Writes both data files of `size` domains into `folder` (which must exist). */
export async function prepareDataset(size: number, folder: string): Promise<Dataset> {
  const tenants = Array.from({ length: TENANT_COUNT }, () => randomUUID());
  // The real simulated SES mints the tokens, so records have the size and shape the service makes.
  const ses = new SimulatedSesIdentities({ region: 'us-east-1' });
  // A steady-state store: domains registered over the past weeks and verified since, which also
  // keeps the verification reconciler (it only looks at Pending domains) out of the measurement.
  const created = Date.now() - 30 * 86_400_000;

  const domains: Record<string, DomainRecord> = {};
  const peerRecords: unknown[] = [];
  for (let id = 1; id <= size; id += 1) {
    const name = preloadedName(id);
    const at = new Date(created + id * 1000).toISOString();
    const record: DomainRecord = {
      id,
      tenantId: tenantOfId(tenants, id),
      name,
      ...(await ses.create(name)),
      configurationSet: 'numonic-emails',
      verificationStatus: 'Success',
      createdAt: at,
      updatedAt: at,
      verifiedAt: at,
      checkedAt: at,
      recordChecks: Array.from({ length: 4 }, () => ({ status: 'verified' as const })),
    };
    domains[id] = record;
    peerRecords.push({ id, ...toDetail(record) });
  }

  const storeFile = path.join(folder, 'numonic.json');
  writeFileSync(
    storeFile,
    serializeStoreFile({ format: STORE_FORMAT, nextId: size + 1, domains, orphans: [] }),
  );
  const peerFile = path.join(folder, 'json-server.json');
  // Indented as json-server's own writes indent it, so its file size is what its users see.
  writeFileSync(peerFile, JSON.stringify({ domains: peerRecords }, null, 2));

  return {
    size,
    tenants,
    storeFile,
    storeFileBytes: statSync(storeFile).size,
    peerFile,
    peerFileBytes: statSync(peerFile).size,
  };
}
