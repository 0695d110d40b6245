import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import {
  openJsonFileStore,
  serializeStoreFile,
  storeFileChunks,
  type JsonFileStore,
  type JsonFileStoreOptions,
  type StoreDocument,
} from '../../../service/store/json-file-store';
import type { DomainRecord } from '../../../service/store/store';
import {
  COMPILED_STORE,
  ControlledAdapter,
  TENANT_A,
  TENANT_B,
  breakWrites,
  exited,
  firstLine,
  newDomain,
  removeFolders,
  spawnNode,
  tempFolder,
} from './fixtures';

const opened: JsonFileStore[] = [];

async function open(file: string, options?: JsonFileStoreOptions): Promise<JsonFileStore> {
  const store = await openJsonFileStore(file, options);
  opened.push(store);
  return store;
}

async function reopen(store: JsonFileStore): Promise<JsonFileStore> {
  await store.close();
  return open(store.file);
}

function readDocument(file: string): StoreDocument {
  return JSON.parse(fs.readFileSync(file, 'utf8')) as StoreDocument;
}

function storedNames(file: string): string[] {
  return Object.values(readDocument(file).domains).map((domain) => domain.name);
}

describe('JsonFileStore', () => {
  let file: string;

  beforeEach(() => {
    file = path.join(tempFolder(), 'data', 'numonic.json');
  });

  afterEach(async () => {
    await Promise.all(opened.splice(0).map((store) => store.close().catch(() => undefined)));
    removeFolders();
  });

  describe('when the file does not exist', () => {
    it('creates it, with its folder, as an empty store', async () => {
      const store = await open(file);

      assert.equal(store.size, 0);
      assert.equal(
        fs.readFileSync(file, 'utf8'),
        '{"format":1,"nextId":1,"domains":{},"orphans":[]}',
      );
    });
  });

  describe('insert', () => {
    it('assigns ids from 1 upwards', async () => {
      const store = await open(file);

      const first = await store.insert(newDomain('one.example.com'));
      const second = await store.insert(newDomain('two.example.com'));

      assert.deepEqual([first.id, second.id], [1, 2]);
    });

    it('finds the new domain by id, by name and in its tenant list', async () => {
      const store = await open(file);

      const domain = await store.insert(newDomain('mail.example.com'));

      assert.equal(store.get(domain.id), domain);
      assert.equal(store.findByName('mail.example.com'), domain);
      assert.deepEqual(store.listByTenant(TENANT_A), [domain]);
      assert.equal(store.size, 1);
    });

    it('resolves only once the file holds the domain', async () => {
      const store = await open(file);

      const inserting = store.insert(newDomain('mail.example.com'));
      assert.deepEqual(storedNames(file), []);
      await inserting;

      assert.deepEqual(storedNames(file), ['mail.example.com']);
    });

    it('refuses a name that is already stored with DUPLICATE_NAME', async () => {
      const store = await open(file);
      await store.insert(newDomain('mail.example.com'));

      await assert.rejects(store.insert(newDomain('mail.example.com', TENANT_B)), {
        code: 'DUPLICATE_NAME',
      });
      assert.equal(store.size, 1);
    });

    it('ignores an id passed in with the record', async () => {
      const store = await open(file);
      const withId = { ...newDomain('mail.example.com'), id: 42 };

      const domain = await store.insert(withId);

      assert.equal(domain.id, 1);
    });

    it('keeps the domain across a restart', async () => {
      const store = await open(file);
      const domain = await store.insert(newDomain('mail.example.com'));

      const restarted = await reopen(store);

      assert.deepEqual(restarted.get(domain.id), domain);
      assert.deepEqual(restarted.findByName('mail.example.com'), domain);
    });
  });

  describe('ids', () => {
    it('are not reused after the highest is deleted and the store restarts', async () => {
      const store = await open(file);
      await store.insert(newDomain('one.example.com'));
      const highest = await store.insert(newDomain('two.example.com'));
      await store.remove(highest.id);

      const restarted = await reopen(store);
      const next = await restarted.insert(newDomain('three.example.com'));

      assert.equal(next.id, 3);
    });

    it('are not reused after the write that consumed one failed', async () => {
      const store = await open(file);
      const repair = breakWrites(file);
      await assert.rejects(store.insert(newDomain('lost.example.com')));
      repair();

      const next = await store.insert(newDomain('kept.example.com'));
      const restarted = await reopen(store);
      const after = await restarted.insert(newDomain('later.example.com'));

      assert.deepEqual([next.id, after.id], [2, 3]);
    });
  });

  describe('update', () => {
    it('applies the patch and keeps id, tenant and name', async () => {
      const store = await open(file);
      const domain = await store.insert(newDomain('mail.example.com'));
      const patch = {
        verificationStatus: 'Failed',
        updatedAt: '2025-02-01T00:00:00.000Z',
      } as const;

      const updated = await store.update(domain.id, patch);

      assert.deepEqual(updated, { ...domain, ...patch });
      assert.equal(store.get(domain.id), updated);
      assert.equal(store.findByName(domain.name), updated);
      assert.deepEqual(store.listByTenant(TENANT_A), [updated]);
      assert.deepEqual(readDocument(file).domains[domain.id], updated);
    });

    it('cannot move a domain to another tenant or name', async () => {
      const store = await open(file);
      const domain = await store.insert(newDomain('mail.example.com'));
      const sneaky = { tenantId: TENANT_B, name: 'other.example.com', id: 9 };

      const updated = await store.update(domain.id, sneaky as object);

      assert.deepEqual(updated, domain);
    });

    it('answers undefined for an unknown id, without a write', async () => {
      const store = await open(file);

      assert.equal(await store.update(7, { verificationStatus: 'Success' }), undefined);
      assert.equal(store.writes, 0);
    });
  });

  describe('remove', () => {
    it('deletes the domain from every index and from the file', async () => {
      const store = await open(file);
      const domain = await store.insert(newDomain('mail.example.com'));

      assert.equal(await store.remove(domain.id), true);

      assert.equal(store.get(domain.id), undefined);
      assert.equal(store.findByName(domain.name), undefined);
      assert.deepEqual(store.listByTenant(TENANT_A), []);
      assert.deepEqual(store.listPending(), []);
      assert.deepEqual(storedNames(file), []);
    });

    it('answers false for an unknown id, without a write', async () => {
      const store = await open(file);

      assert.equal(await store.remove(7), false);
      assert.equal(store.writes, 0);
    });
  });

  describe('listByTenant', () => {
    it("lists only that tenant's domains, in ascending id order", async () => {
      const store = await open(file);
      const names = ['a.example.com', 'b.example.com', 'c.example.com', 'd.example.com'];
      const domains = await Promise.all(
        names.map((name, index) => store.insert(newDomain(name, index % 2 ? TENANT_B : TENANT_A))),
      );
      const [a, b, c, d, e] = [...domains, await store.insert(newDomain('e.example.com'))];

      assert.deepEqual(store.listByTenant(TENANT_A), [a, c, e]);
      assert.deepEqual(store.listByTenant(TENANT_B), [b, d]);
    });

    it('keeps the order when a failed remove puts a domain back', async () => {
      const store = await open(file);
      const a = await store.insert(newDomain('a.example.com'));
      const b = await store.insert(newDomain('b.example.com'));
      const c = await store.insert(newDomain('c.example.com'));

      const repair = breakWrites(file);
      await assert.rejects(store.remove(b.id));
      repair();

      assert.deepEqual(store.listByTenant(TENANT_A), [a, b, c]);
    });

    it('answers an empty list for a tenant without domains', async () => {
      const store = await open(file);

      assert.deepEqual(store.listByTenant(TENANT_B), []);
    });
  });

  describe('listPending', () => {
    it('lists the domains whose status is Pending, and only those', async () => {
      const store = await open(file);
      const pending = await store.insert(newDomain('pending.example.com'));
      const verified = await store.insert(newDomain('verified.example.com'));
      await store.update(verified.id, { verificationStatus: 'Success' });

      assert.deepEqual(store.listPending(), [pending]);
    });

    it('lists the pending domains again after a restart', async () => {
      const store = await open(file);
      const pending = await store.insert(newDomain('pending.example.com'));
      const failed = await store.insert(newDomain('failed.example.com'));
      await store.update(failed.id, { verificationStatus: 'Failed' });

      const restarted = await reopen(store);

      assert.deepEqual(restarted.listPending(), [pending]);
    });
  });

  describe('records handed out', () => {
    it('are frozen, arrays included', async () => {
      const store = await open(file);
      const domain = await store.insert(newDomain('mail.example.com'));
      const checked = await store.update(domain.id, {
        recordChecks: [{ status: 'mismatch', found: ['wrong'] }],
      });

      assert.throws(() => {
        (domain as { name: string }).name = 'other.example.com';
      }, TypeError);
      assert.throws(() => domain.dkimTokens.push('d'.repeat(32)), TypeError);
      assert.throws(() => checked?.recordChecks?.[0]?.found?.push('again'), TypeError);
      assert.equal(store.findByName('mail.example.com')?.id, domain.id);
    });

    it('are frozen after a restart too', async () => {
      const store = await open(file);
      const domain = await store.insert(newDomain('mail.example.com'));

      const restarted = await reopen(store);

      assert.equal(Object.isFrozen(restarted.get(domain.id)), true);
      assert.equal(Object.isFrozen(restarted.get(domain.id)?.dkimTokens), true);
    });

    it('share no array with the record that was passed in', async () => {
      const store = await open(file);
      const input = newDomain('mail.example.com');

      const domain = await store.insert(input);
      input.dkimTokens[0] = 'changed';

      assert.equal(domain.dkimTokens[0], 'a'.repeat(32));
    });

    it('come in lists the caller may change without changing the store', async () => {
      const store = await open(file);
      await store.insert(newDomain('mail.example.com'));
      await store.addOrphan('gone.example.com');

      store.listByTenant(TENANT_A).pop();
      store.listPending().pop();
      store.listOrphans().pop();

      assert.equal(store.listByTenant(TENANT_A).length, 1);
      assert.equal(store.listPending().length, 1);
      assert.deepEqual(store.listOrphans(), ['gone.example.com']);
    });
  });

  describe('orphans', () => {
    it('adds, lists and removes names, and keeps them across a restart', async () => {
      const store = await open(file);
      await store.addOrphan('one.example.com');
      await store.addOrphan('two.example.com');
      await store.removeOrphan('one.example.com');

      const restarted = await reopen(store);

      assert.deepEqual(restarted.listOrphans(), ['two.example.com']);
      assert.deepEqual(readDocument(file).orphans, ['two.example.com']);
    });

    it('lists a name once however often it is added', async () => {
      const store = await open(file);

      await Promise.all([store.addOrphan('a.example.com'), store.addOrphan('a.example.com')]);

      assert.deepEqual(store.listOrphans(), ['a.example.com']);
    });

    it('puts a name back when the write removing it fails', async () => {
      const store = await open(file);
      await store.addOrphan('a.example.com');
      await store.addOrphan('b.example.com');

      const repair = breakWrites(file);
      await assert.rejects(store.removeOrphan('a.example.com'), { code: 'WRITE_FAILED' });
      repair();

      assert.deepEqual(store.listOrphans(), ['a.example.com', 'b.example.com']);
    });
  });

  describe('the file', () => {
    it('is compact JSON in the documented layout', async () => {
      const store = await open(file);
      const domain = await store.insert(newDomain('mail.example.com'));
      await store.addOrphan('gone.example.com');

      assert.equal(
        fs.readFileSync(file, 'utf8'),
        `{"format":1,"nextId":2,"domains":{"1":${JSON.stringify(domain)}},` +
          '"orphans":["gone.example.com"]}',
      );
    });

    it('loads a store written with serializeStoreFile', async () => {
      const domains: Record<string, DomainRecord> = {};
      for (let id = 1; id <= 3; id += 1) domains[id] = { ...newDomain(`d${id}.example.com`), id };
      fs.mkdirSync(path.dirname(file), { recursive: true });
      fs.writeFileSync(file, serializeStoreFile({ format: 1, nextId: 9, domains, orphans: [] }));

      const store = await open(file);
      const next = await store.insert(newDomain('next.example.com'));

      assert.equal(store.findByName('d2.example.com')?.id, 2);
      assert.equal(next.id, 9);
    });
  });

  describe('storeFileChunks', () => {
    function documentOf(count: number): StoreDocument {
      const domains: Record<string, DomainRecord> = {};
      for (let id = 1; id <= count; id += 1) {
        domains[id] = Object.freeze({ ...newDomain(`d${id}.example.com`), id });
      }
      return { format: 1, nextId: count + 1, domains, orphans: ['gone.example.com'] };
    }

    for (const count of [0, 1, 2500]) {
      it(`writes ${count} domains as the compact JSON of the whole document`, () => {
        const document = documentOf(count);
        const { format, nextId, domains, orphans } = document;

        const text = [...storeFileChunks(document)].join('');

        assert.equal(text, JSON.stringify({ format, nextId, domains, orphans }));
      });
    }

    it('cuts a large document into chunks of at most 1000 domains', () => {
      const chunks = [...storeFileChunks(documentOf(2500))];

      // the opening, three chunks of domains, the closing with the orphans
      assert.equal(chunks.length, 5);
    });

    it('holds the document as it was when called, whatever changes while chunks are made', () => {
      const document = documentOf(2500);
      const expected = serializeStoreFile(document);
      const chunks = storeFileChunks(document)[Symbol.iterator]();
      document.domains[1] = Object.freeze({ ...newDomain('before.example.com'), id: 1 });
      document.nextId = 2600;
      const first = chunks.next().value as string;

      document.domains[2000] = Object.freeze({ ...newDomain('changed.example.com'), id: 2000 });
      delete document.domains[2500];
      document.domains[2501] = Object.freeze({ ...newDomain('added.example.com'), id: 2501 });
      document.orphans.push('later.example.com');
      document.nextId = 2502;
      const rest: string[] = [];
      for (let next = chunks.next(); !next.done; next = chunks.next()) rest.push(next.value);

      assert.equal([first, ...rest].join(''), expected);
    });
  });

  describe('when changes arrive together', () => {
    it('groups 100 concurrent inserts into at most two file writes', async () => {
      const store = await open(file);

      const names = Array.from({ length: 100 }, (_, index) => `d${index}.example.com`);
      await Promise.all(names.map((name) => store.insert(newDomain(name))));

      assert.ok(store.writes <= 2, `${store.writes} writes`);
      assert.equal(storedNames(file).length, 100);
    });

    it('puts the changes made during a write into the single next write', async () => {
      const adapter = new ControlledAdapter(file);
      const store = await open(file, { adapter });
      adapter.carried.length = 0;
      const release = adapter.hold();

      const started = adapter.nextWrite();
      const first = store.insert(newDomain('first.example.com'));
      await started;
      const later = ['a', 'b', 'c', 'd'].map((label) =>
        store.insert(newDomain(`${label}.example.com`)),
      );
      release();
      await Promise.all([first, ...later]);

      const carriedNames = adapter.carried.map((document) =>
        Object.values(document.domains).map((domain) => domain.name),
      );
      assert.deepEqual(carriedNames, [
        ['first.example.com'],
        ['first.example.com', 'a.example.com', 'b.example.com', 'c.example.com', 'd.example.com'],
      ]);
      assert.equal(store.writes, 2);
    });

    it('shows each change to reads at once, before it is written', async () => {
      const store = await open(file);

      const inserting = store.insert(newDomain('mail.example.com'));

      assert.equal(store.findByName('mail.example.com')?.id, 1);
      await inserting;
    });
  });

  describe('when a file write fails', () => {
    it('rejects every change of the batch with WRITE_FAILED naming the file', async () => {
      const store = await open(file);
      const repair = breakWrites(file);

      const results = await Promise.allSettled([
        store.insert(newDomain('a.example.com')),
        store.insert(newDomain('b.example.com')),
        store.addOrphan('gone.example.com'),
      ]);
      repair();

      for (const result of results) {
        assert.equal(result.status, 'rejected');
        assert.equal((result as PromiseRejectedResult).reason.code, 'WRITE_FAILED');
        assert.match((result as PromiseRejectedResult).reason.message, /numonic\.json/);
      }
    });

    it('undoes every change of the batch in memory', async () => {
      const store = await open(file);
      const kept = await store.insert(newDomain('kept.example.com'));
      const doomed = await store.insert(newDomain('doomed.example.com'));
      await store.addOrphan('old.example.com');
      const repair = breakWrites(file);

      await Promise.allSettled([
        store.insert(newDomain('new.example.com')),
        store.update(kept.id, { verificationStatus: 'Success' }),
        store.remove(doomed.id),
        store.insert(newDomain('doomed.example.com', TENANT_B)),
        store.removeOrphan('old.example.com'),
        store.addOrphan('new.example.com'),
      ]);
      repair();

      assert.equal(store.size, 2);
      assert.equal(store.get(kept.id), kept);
      assert.equal(store.findByName('doomed.example.com'), doomed);
      assert.equal(store.findByName('new.example.com'), undefined);
      assert.deepEqual(store.listByTenant(TENANT_A), [kept, doomed]);
      assert.deepEqual(store.listByTenant(TENANT_B), []);
      assert.deepEqual(store.listPending(), [kept, doomed]);
      assert.deepEqual(store.listOrphans(), ['old.example.com']);
    });

    it('leaves the file as it was', async () => {
      const store = await open(file);
      await store.insert(newDomain('kept.example.com'));
      const before = fs.readFileSync(file);
      const repair = breakWrites(file);

      await assert.rejects(store.insert(newDomain('lost.example.com')));
      repair();

      assert.deepEqual(fs.readFileSync(file), before);
    });

    it('also undoes and rejects the changes queued behind it', async () => {
      const adapter = new ControlledAdapter(file);
      const store = await open(file, { adapter });
      const kept = await store.insert(newDomain('kept.example.com'));
      const release = adapter.hold();
      const repair = breakWrites(file);

      const started = adapter.nextWrite();
      const failing = store.insert(newDomain('failing.example.com'));
      await started;
      const queued = [
        store.insert(newDomain('queued.example.com')),
        store.update(kept.id, { verificationStatus: 'Success' }),
      ];
      release();
      const results = await Promise.allSettled([failing, ...queued]);
      repair();

      assert.deepEqual(
        results.map((result) => result.status),
        ['rejected', 'rejected', 'rejected'],
      );
      assert.equal(store.size, 1);
      assert.equal(store.get(kept.id), kept);
    });

    it('writes again once the disk accepts writes', async () => {
      const store = await open(file);
      const repair = breakWrites(file);
      await assert.rejects(store.insert(newDomain('lost.example.com')));
      repair();

      await store.insert(newDomain('kept.example.com'));

      assert.deepEqual(storedNames(file), ['kept.example.com']);
    });
  });

  describe('when the file is corrupt', () => {
    const domain = (id: number) => JSON.stringify({ ...newDomain('a.example.com'), id });
    const withDomains = (nextId: number, domains: string) =>
      `{"format":1,"nextId":${nextId},"domains":{${domains}},"orphans":[]}`;
    const cases: [string, string][] = [
      ['an empty file', ''],
      ['a file of whitespace', ' \n'],
      ['a file that is not JSON', '{"format":1,"nextId":'],
      ['a JSON array', '[]'],
      ['another format', '{"format":2,"nextId":1,"domains":{},"orphans":[]}'],
      ['a file without nextId', '{"format":1,"domains":{},"orphans":[]}'],
      ['a file without orphans', '{"format":1,"nextId":1,"domains":{}}'],
      ['a domain without a name', withDomains(2, `"1":${domain(1).replace('"name"', '"nom"')}`)],
      ['a domain under another id', withDomains(3, `"2":${domain(1)}`)],
      ['an id not below nextId', withDomains(1, `"1":${domain(1)}`)],
      ['two domains with one name', withDomains(3, `"1":${domain(1)},"2":${domain(2)}`)],
    ];

    for (const [label, content] of cases) {
      it(`refuses ${label} with CORRUPT and leaves it untouched`, async () => {
        fs.mkdirSync(path.dirname(file), { recursive: true });
        fs.writeFileSync(file, content);

        await assert.rejects(open(file), (error: Error & { code: string }) => {
          assert.equal(error.code, 'CORRUPT');
          assert.ok(error.message.includes(file), error.message);
          return true;
        });

        assert.equal(fs.readFileSync(file, 'utf8'), content);
        assert.equal(fs.existsSync(`${file}.lock`), false);
      });
    }

    it('says what is wrong', async () => {
      fs.mkdirSync(path.dirname(file), { recursive: true });
      fs.writeFileSync(file, '{"format":1,"nextId":');

      await assert.rejects(open(file), /is not valid JSON/);
    });
  });

  describe('when the file cannot be read', () => {
    it('refuses to open with UNREADABLE naming the file', async () => {
      fs.mkdirSync(file, { recursive: true });

      await assert.rejects(open(file), (error: Error & { code: string }) => {
        assert.equal(error.code, 'UNREADABLE');
        assert.ok(error.message.includes(file), error.message);
        return true;
      });
    });
  });

  describe('when the file is already open', () => {
    const holder = `
      const [storeModule, file] = process.argv.slice(1);
      const { openJsonFileStore } = require(storeModule);
      openJsonFileStore(file).then(async (store) => {
        await store.insert(JSON.parse(process.argv[3]));
        process.stdout.write('ready\\n');
        setInterval(() => undefined, 60_000);
      });
    `;
    const opener = `
      const [storeModule, file] = process.argv.slice(1);
      const { openJsonFileStore } = require(storeModule);
      openJsonFileStore(file).then(
        () => process.stdout.write('opened\\n'),
        (error) => {
          const { code, message } = error;
          process.stdout.write(JSON.stringify({ code, message }) + '\\n');
        },
      ).then(() => process.exit());
    `;

    it('refuses a second open in this process, naming the file and the pid', async () => {
      await open(file);

      await assert.rejects(open(file), (error: Error & { code: string }) => {
        assert.equal(error.code, 'LOCKED');
        assert.ok(error.message.includes(file), error.message);
        assert.ok(error.message.includes(`pid ${process.pid}`), error.message);
        return true;
      });
    });

    it('refuses an open from another process, naming the file and the holder pid', async () => {
      await open(file);

      const child = spawnNode(opener, [COMPILED_STORE, file]);
      const answer = JSON.parse(await firstLine(child)) as { code: string; message: string };
      await exited(child);

      assert.equal(answer.code, 'LOCKED');
      assert.ok(answer.message.includes(file), answer.message);
      assert.ok(answer.message.includes(`process ${process.pid}`), answer.message);
    });

    it('refuses while another process holds it, and takes over once that is killed', async () => {
      const domain = newDomain('mail.example.com');
      const child = spawnNode(holder, [COMPILED_STORE, file, JSON.stringify(domain)]);
      try {
        assert.equal(await firstLine(child), 'ready');
        await assert.rejects(open(file), (error: Error) =>
          error.message.includes(`process ${child.pid}`),
        );
      } finally {
        child.kill('SIGKILL');
        await exited(child);
      }

      const store = await open(file);

      assert.deepEqual(store.findByName('mail.example.com'), { ...domain, id: 1 });
    });
  });

  describe('when the process is killed during a burst of writes', () => {
    const writer = `
      const [storeModule, file, template] = process.argv.slice(1);
      const { openJsonFileStore } = require(storeModule);
      openJsonFileStore(file).then((store) => {
        let count = 0;
        const insertNext = () => {
          const name = 'd' + count++ + '.example.com';
          store.insert({ ...JSON.parse(template), name }).then(() => {
            process.stdout.write(name + '\\n');
            insertNext();
          });
        };
        for (let writer = 0; writer < 20; writer += 1) insertNext();
      });
    `;

    it('keeps every acknowledged domain in a readable file', async () => {
      const child = spawnNode(writer, [COMPILED_STORE, file, JSON.stringify(newDomain('x'))]);
      const acknowledged: string[] = [];
      let output = '';
      child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
        output += chunk;
        const lines = output.split('\n');
        output = lines.pop() ?? '';
        acknowledged.push(...lines);
        if (acknowledged.length >= 200) child.kill('SIGKILL');
      });
      await exited(child);

      const store = await open(file);

      assert.ok(acknowledged.length >= 200, `${acknowledged.length} acknowledged`);
      const missing = acknowledged.filter((name) => store.findByName(name) === undefined);
      assert.deepEqual(missing, []);
    });
  });

  describe('close', () => {
    it('writes the pending changes before it resolves', async () => {
      const store = await open(file);

      void store.insert(newDomain('mail.example.com'));
      await store.close();

      assert.deepEqual(storedNames(file), ['mail.example.com']);
    });

    it('releases the lock, so the file can be opened again', async () => {
      const store = await open(file);

      await store.close();

      assert.equal(fs.existsSync(`${file}.lock`), false);
      await open(file);
    });

    it('refuses changes afterwards with CLOSED', async () => {
      const store = await open(file);

      await store.close();

      await assert.rejects(store.insert(newDomain('late.example.com')), { code: 'CLOSED' });
      await assert.rejects(store.addOrphan('late.example.com'), { code: 'CLOSED' });
    });
  });
});
