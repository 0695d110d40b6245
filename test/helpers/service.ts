import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { loadConfig } from '../../service/config';
import { mintToken, type MintOptions } from '../../service/dev-token';
import { startService, type RunningService, type ServiceOverrides } from '../../service/runtime';

export interface TestService extends RunningService {
  dataDir: string;
  dataFile: string;
  secret: string;
  /** A valid token for `tenantId` (a new random tenant unless given). */
  token(tenantId?: string, options?: Omit<MintOptions, 'tenantId'>): Promise<string>;
}

/** A temporary folder that `removeTempDir` deletes. */
export function makeTempDir(prefix = 'numonic-'): string {
  return mkdtempSync(path.join(os.tmpdir(), prefix));
}

export function removeTempDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

/**
 * The real service on an ephemeral loopback port with a fresh data file in a temp folder,
 * simulated SES and silent logs unless `env` says otherwise. `close()` also removes the folder
 * unless `keepData` is set (restart tests reopen the same file).
 */
export async function startTestService(
  env: Record<string, string> = {},
  overrides: ServiceOverrides & { dataDir?: string; keepData?: boolean } = {},
): Promise<TestService> {
  const dataDir = overrides.dataDir ?? makeTempDir();
  const dataFile = path.join(dataDir, 'numonic.json');
  const secret = env.NUMONIC_JWT_SECRET ?? randomBytes(32).toString('hex');
  const config = loadConfig({
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'silent',
    NUMONIC_DATA_FILE: dataFile,
    NUMONIC_JWT_SECRET: secret,
    NUMONIC_SES_MODE: 'simulated',
    NUMONIC_RATE_LIMIT_PER_MINUTE: '0',
    ...env,
  });

  let service: RunningService;
  try {
    service = await startService(config, overrides);
  } catch (error) {
    if (overrides.dataDir === undefined) removeTempDir(dataDir);
    throw error;
  }

  return {
    ...service,
    dataDir,
    dataFile,
    secret,
    token: (tenantId = randomUUID(), options = {}) => mintToken(secret, { ...options, tenantId }),
    close: async () => {
      await service.close();
      if (overrides.keepData !== true && overrides.dataDir === undefined) removeTempDir(dataDir);
    },
  };
}
