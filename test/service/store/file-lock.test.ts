import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { acquireFileLock, type FileLock } from '../../../service/store/file-lock';
import { exited, removeFolders, spawnNode, tempFolder } from './fixtures';

/** The pid of a process that has come and gone. */
async function deadPid(): Promise<number> {
  const child = spawnNode('', []);
  await exited(child);
  return child.pid as number;
}

describe('acquireFileLock', () => {
  let file: string;
  let lockFile: string;
  const held: FileLock[] = [];

  beforeEach(() => {
    file = path.join(tempFolder(), 'numonic.json');
    lockFile = `${file}.lock`;
  });

  afterEach(async () => {
    await Promise.all(held.splice(0).map((lock) => lock.release()));
    removeFolders();
  });

  async function acquire(): Promise<FileLock> {
    const lock = await acquireFileLock(file);
    held.push(lock);
    return lock;
  }

  it('creates <file>.lock holding this pid, and nothing else', async () => {
    const lock = await acquire();

    assert.equal(lock.path, lockFile);
    assert.equal(fs.readFileSync(lockFile, 'utf8'), `${process.pid}\n`);
    assert.deepEqual(fs.readdirSync(path.dirname(file)), ['numonic.json.lock']);
  });

  it('refuses a second lock in this process with LOCKED, naming the file and the pid', async () => {
    await acquire();

    await assert.rejects(acquire(), (error: Error & { code: string }) => {
      assert.equal(error.code, 'LOCKED');
      assert.ok(error.message.includes(file), error.message);
      assert.ok(error.message.includes(String(process.pid)), error.message);
      return true;
    });
  });

  it('lets only one of two racing acquisitions in this process win', async () => {
    const results = await Promise.allSettled([acquire(), acquire()]);

    assert.deepEqual(results.map((result) => result.status).sort(), ['fulfilled', 'rejected']);
  });

  it('takes over a lock whose process has exited', async () => {
    fs.writeFileSync(lockFile, `${await deadPid()}\n`);

    await acquire();

    assert.equal(fs.readFileSync(lockFile, 'utf8'), `${process.pid}\n`);
  });

  it('takes over a lock with this pid that this process does not hold', async () => {
    // What a restarted container finds: its pid is 1 again, and so was the killed one's.
    fs.writeFileSync(lockFile, `${process.pid}\n`);

    await acquire();

    assert.equal(fs.readFileSync(lockFile, 'utf8'), `${process.pid}\n`);
  });

  it('takes over a lock that holds no pid', async () => {
    fs.writeFileSync(lockFile, '');

    await acquire();

    assert.equal(fs.readFileSync(lockFile, 'utf8'), `${process.pid}\n`);
  });

  describe('release', () => {
    it('removes the lock file, so the file can be locked again', async () => {
      const lock = await acquireFileLock(file);

      await lock.release();

      assert.equal(fs.existsSync(lockFile), false);
      await acquire();
    });

    it('leaves in place a lock that another process has taken over', async () => {
      const lock = await acquireFileLock(file);
      fs.writeFileSync(lockFile, '999999\n');

      await lock.release();

      assert.equal(fs.readFileSync(lockFile, 'utf8'), '999999\n');
    });
  });
});
