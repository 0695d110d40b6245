import { randomBytes, randomUUID } from 'node:crypto';
import { mkdir, open, readFile } from 'node:fs/promises';
import path from 'node:path';

import { SignJWT } from 'jose';

const SECRET_FILE = 'jwt-secret';

/** HS256 needs a secret of at least 32 bytes, as NUMONIC_JWT_SECRET does. */
const MIN_SECRET_BYTES = 32;

/**
 * The development HS256 secret, kept beside the data file (mode 0600) so tokens survive restarts.
 * Production refuses it at configuration time; this is only for a fresh clone on a laptop.
 * An empty file, left by a crash between creating and writing it, never signed a token and is
 * written anew; a secret that is too short is refused with the file named.
 */
export async function loadOrCreateDevSecret(dataFile: string): Promise<string> {
  const folder = path.dirname(path.resolve(dataFile));
  const file = path.join(folder, SECRET_FILE);
  await mkdir(folder, { recursive: true });

  let secret = await readSecret(file);
  if (secret === undefined || secret === '') {
    // Exclusive when missing, so that two processes starting at once end up with one secret.
    await writeSecret(file, secret === undefined ? 'wx' : 'w');
    secret = (await readSecret(file)) ?? '';
  }

  if (Buffer.byteLength(secret) < MIN_SECRET_BYTES) {
    throw new Error(
      `${file} holds a secret shorter than ${MIN_SECRET_BYTES} bytes; delete the file to generate a new one (tokens signed with the old one stop working).`,
    );
  }
  return secret;
}

/** The trimmed content of `file`, or undefined when there is no such file. */
async function readSecret(file: string): Promise<string | undefined> {
  try {
    return (await readFile(file, 'utf8')).trim();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/** Writes a new random secret to `file` and makes it durable before any token is signed with it. */
async function writeSecret(file: string, flag: 'w' | 'wx'): Promise<void> {
  let handle;
  try {
    handle = await open(file, flag, 0o600);
  } catch (error) {
    // Another process created it first: its secret is the one to use.
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return;
    throw error;
  }
  try {
    await handle.writeFile(`${randomBytes(48).toString('base64url')}\n`, 'utf8');
    await handle.sync();
  } finally {
    await handle.close();
  }
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
