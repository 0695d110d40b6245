import { randomBytes, randomUUID } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';

import { SignJWT } from 'jose';

const SECRET_FILE = 'jwt-secret';

/**
 * The development HS256 secret, kept beside the data file (mode 0600) so tokens survive restarts.
 * Production refuses it at configuration time; this is only for a fresh clone on a laptop.
 */
export async function loadOrCreateDevSecret(dataFile: string): Promise<string> {
  const folder = path.dirname(path.resolve(dataFile));
  const file = path.join(folder, SECRET_FILE);
  await mkdir(folder, { recursive: true });

  try {
    await writeFile(file, `${randomBytes(48).toString('base64url')}\n`, {
      flag: 'wx',
      mode: 0o600,
    });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') {
      throw error;
    }
  }
  return (await readFile(file, 'utf8')).trim();
}

export interface MintOptions {
  tenantId?: string;
  /** A jose time span, e.g. `'1h'` or `'30d'`. */
  expiresIn?: string;
  issuer?: string;
  audience?: string;
}

/** Signs an HS256 token for a tenant (a new random one unless given). */
export async function mintToken(secret: string, options: MintOptions = {}): Promise<string> {
  let jwt = new SignJWT({ tenant_id: options.tenantId ?? randomUUID() })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setIssuedAt()
    .setExpirationTime(options.expiresIn ?? '30d');
  if (options.issuer !== undefined) {
    jwt = jwt.setIssuer(options.issuer);
  }
  if (options.audience !== undefined) {
    jwt = jwt.setAudience(options.audience);
  }
  return jwt.sign(new TextEncoder().encode(secret));
}
