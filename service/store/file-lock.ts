// The lock is a file next to the store, `<file>.lock`, holding the pid of the process that has the
// store open. Node has no advisory locks (flock), so the lock is an exclusive create plus a
// liveness check: a lock whose pid no longer runs was left by a crash (kill -9, power loss) and is
// taken over, so a killed service can always restart.
//
// The pid is written to a private claim file first and hard-linked into place. A link, like an open
// with `wx`, fails when the lock already exists; unlike `wx`, it never lets another process read an
// empty lock between the create and the write of the pid, which it would have to guess about.
//
// Known limits: liveness is checked by pid on this machine, so processes in different pid
// namespaces (two containers sharing one data volume) do not see each other's locks; and taking
// over a stale lock is not atomic, so two processes starting at the same instant against a dead
// holder's lock could both go on. Run one service per data file.

import { link, readFile, rm, writeFile } from 'node:fs/promises';
import { StoreError } from './store-error';

/** How often a lock that vanishes or goes stale under us is tried again before giving up. */
const ATTEMPTS = 3;

/** Lock files held by this process, which a pid check cannot tell from a dead namesake's. */
const heldHere = new Set<string>();
let claims = 0;

/** The single-process lock on one store file. */
export interface FileLock {
  /** The lock file, `<file>.lock`. */
  readonly path: string;
  /** Removes the lock file, unless another process has taken it over since. Safe to call twice. */
  release(): Promise<void>;
}

/**
 * Locks `file` for this process by creating `<file>.lock` with its pid. A lock left by a process
 * that is no longer running is taken over. Rejects with a `LOCKED` {@link StoreError} naming the
 * file and the holder's pid when a live process, or another open store in this one, holds it.
 *
 * @example
 * const lock = await acquireFileLock('/var/lib/numonic/numonic.json');
 * try {
 *   // ... use the file
 * } finally {
 *   await lock.release();
 * }
 */
export async function acquireFileLock(file: string): Promise<FileLock> {
  const path = `${file}.lock`;
  if (heldHere.has(path)) {
    throw lockedError(file, path, process.pid);
  }

  // Reserved before the first await, so that two opens racing in this process cannot both win.
  heldHere.add(path);
  try {
    await takeLock(file, path);
  } catch (error) {
    heldHere.delete(path);
    throw error;
  }

  return heldLock(path);
}

async function takeLock(file: string, path: string): Promise<void> {
  for (let attempt = 1; attempt <= ATTEMPTS; attempt += 1) {
    if (await tryCreate(path)) return;

    const holder = await readHolder(path);
    // Our own pid in a lock we do not hold yet was written by an earlier process that had the same
    // pid, as a restarted container's pid 1 does.
    if (holder !== undefined && holder !== process.pid && isAlive(holder)) {
      throw lockedError(file, path, holder);
    }
    await rm(path, { force: true });
  }

  throw new StoreError(
    'LOCKED',
    file,
    `${file} could not be locked: its lock file ${path} kept changing. Is another process ` +
      'starting on it?',
  );
}

function heldLock(path: string): FileLock {
  let released = false;

  return {
    path,
    async release() {
      if (released) return;
      released = true;

      if ((await readHolder(path)) === process.pid) {
        await rm(path, { force: true });
      }
      heldHere.delete(path);
    },
  };
}

/** Creates the lock with our pid in it; `false` when it exists already. */
async function tryCreate(path: string): Promise<boolean> {
  claims += 1;
  const claim = `${path}.${process.pid}-${claims}`;
  await writeFile(claim, `${process.pid}\n`);

  try {
    await link(claim, path);
    return true;
  } catch (error) {
    if (errorCode(error) === 'EEXIST') return false;
    throw error;
  } finally {
    await rm(claim, { force: true });
  }
}

/** The holder's pid; `undefined` when the lock is gone or holds no pid, and so holds nothing. */
async function readHolder(path: string): Promise<number | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return undefined;
    throw error;
  }

  const pid = Number(text.trim());
  return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to another user.
    return errorCode(error) !== 'ESRCH';
  }
}

function lockedError(file: string, path: string, pid: number): StoreError {
  const holder = pid === process.pid ? `this process (pid ${pid})` : `process ${pid}`;
  return new StoreError(
    'LOCKED',
    file,
    `${file} is already open in ${holder}; its lock file is ${path}. Stop that service first, or ` +
      'delete the lock file if that process is not a Numonic service.',
  );
}

function errorCode(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | undefined)?.code;
}
