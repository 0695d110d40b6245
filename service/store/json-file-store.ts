// The durable JSON-file store. The whole store is one lowdb document, held in memory and written
// whole, atomically and durably (see `durable-json-file.ts`) before any change is acknowledged.
//
// Group commit: a change is made in memory at once, so reads see it, and joins the next file write.
// While one write is in flight, every change that arrives waits for the following single write, so
// N concurrent changes cost about two writes rather than N. A write's content is fixed the moment
// it starts, because JSON.stringify is synchronous and runs before the write's first await.
//
// Known limit: the whole store is one file, so every write serializes and writes every domain, in
// chunks between which other requests are served (~30 ms of work at 10k domains, ~300 ms at 100k);
// the POST rate falls as the store grows, and past ~100k domains a store that writes only the
// change (a database) is the way out.

import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { Low, type Adapter } from 'lowdb';
import { DurableJsonFile } from './durable-json-file';
import { acquireFileLock, type FileLock } from './file-lock';
import type { DomainPatch, DomainRecord, DomainStore, NewDomainRecord, RecordCheck } from './store';
import { StoreError } from './store-error';

/** The version of the file layout this code reads and writes. */
export const STORE_FORMAT = 1;

/**
 * The store file's document, as it is on disk. Serialized by {@link serializeStoreFile} it reads
 * `{"format":1,"nextId":N,"domains":{"<id>":{...record}},"orphans":["name",...]}`.
 */
export interface StoreDocument {
  format: typeof STORE_FORMAT;
  /** The id the next insert gets. Ids are never reused, so it only grows, even across deletes. */
  nextId: number;
  /** Every domain, keyed by its id in decimal; each record's `id` equals its key. */
  domains: Record<string, DomainRecord>;
  /** SES identities whose clean-up failed, by domain name. */
  orphans: string[];
}

/** Options of {@link openJsonFileStore}. */
export interface JsonFileStoreOptions {
  /**
   * Does the file I/O in place of a {@link DurableJsonFile} on the store file, for tests that need
   * a write to fail or to wait. Its `write` must serialize its argument before its first await.
   */
  adapter?: Adapter<StoreDocument>;
}

/** The changes that go to disk together in one file write. */
interface Batch {
  /** Each change's undo, in the order the changes were made. */
  readonly undos: (() => void)[];
  /** Settles when the write carrying the batch is durable, or has failed. */
  readonly done: Promise<void>;
  resolve(): void;
  reject(error: unknown): void;
}

const TEXT_FIELDS = [
  'tenantId',
  'name',
  'identityArn',
  'verificationToken',
  'signingHostedZone',
  'configurationSet',
  'createdAt',
  'updatedAt',
] as const satisfies readonly (keyof DomainRecord)[];

const STATUSES: ReadonlySet<unknown> = new Set(['Pending', 'Success', 'Failed']);

/**
 * Opens the store kept in `file`: creates the file (and its folder) as an empty store when it is
 * missing, locks it for this process, loads it and builds the indexes. Rejects with a
 * {@link StoreError} naming the file: `LOCKED` when another process has it open, `CORRUPT` when it
 * is empty or not a store document (the file is then left untouched), `UNREADABLE` on I/O errors.
 *
 * @example
 * const store = await openJsonFileStore('./data/numonic.json');
 * const domain = await store.insert(newDomain); // resolves once the file holding it is on disk
 * await store.close();
 */
export async function openJsonFileStore(
  file: string,
  options: JsonFileStoreOptions = {},
): Promise<JsonFileStore> {
  const absolute = path.resolve(file);
  let lock: FileLock;
  try {
    await mkdir(path.dirname(absolute), { recursive: true });
    lock = await acquireFileLock(absolute);
  } catch (error) {
    throw openError(absolute, error);
  }

  try {
    const adapter = options.adapter ?? defaultAdapter(absolute);
    const empty = emptyStoreDocument();
    const db = new Low<StoreDocument>(adapter, empty);
    await db.read();
    // Written now rather than on the first change, so an unwritable folder stops start-up.
    if (db.data === empty) await db.write();

    return new JsonFileStore(absolute, db, lock);
  } catch (error) {
    // The open error is what the operator needs; a failed release would only hide it.
    await lock.release().catch(() => undefined);
    throw openError(absolute, error);
  }
}

/** A document with no domain and no orphan, whose first id will be 1. */
export function emptyStoreDocument(): StoreDocument {
  return { format: STORE_FORMAT, nextId: 1, domains: {}, orphans: [] };
}

/** Domains serialized together as one chunk of a file write: ~0.8 MB, a few ms of the event loop. */
const DOMAINS_PER_CHUNK = 1000;

/**
 * The file text of a document as chunks to write in order: compact JSON with the keys in the order
 * `format`, `nextId`, `domains` (ascending ids), `orphans`. The document is read at once (its
 * domains are frozen records, replaced rather than changed, so a list of them is a snapshot);
 * each chunk is serialized only when asked for, so a write never holds the whole text at once.
 */
export function storeFileChunks(document: StoreDocument): Iterable<string> {
  const { format, nextId } = document;
  const domains = Object.values(document.domains);
  const orphans = document.orphans.slice();

  return (function* () {
    yield `{"format":${JSON.stringify(format)},"nextId":${JSON.stringify(nextId)},"domains":{`;
    for (let start = 0; start < domains.length; start += DOMAINS_PER_CHUNK) {
      const members = domains
        .slice(start, start + DOMAINS_PER_CHUNK)
        .map((record) => `"${record.id}":${JSON.stringify(record)}`);
      yield `${start === 0 ? '' : ','}${members.join(',')}`;
    }
    yield `},"orphans":${JSON.stringify(orphans)}}`;
  })();
}

/**
 * The file text of a document, whole: the chunks of {@link storeFileChunks} joined. The store
 * writes nothing else, so a file made with it, for example a benchmark's preloaded store, is one
 * the service could have written.
 *
 * @example
 * const domains: Record<string, DomainRecord> = {};
 * for (let id = 1; id <= 10_000; id += 1) domains[id] = { id, ...sampleDomain(id) };
 * fs.writeFileSync(file, serializeStoreFile({ format: 1, nextId: 10_001, domains, orphans: [] }));
 */
export function serializeStoreFile(document: StoreDocument): string {
  return [...storeFileChunks(document)].join('');
}

/**
 * Reads a store file's text, checking its shape enough to refuse garbage: JSON, the format, a
 * positive `nextId` above every id, each record's id, text fields and status, the orphan names.
 * Throws a `CORRUPT` {@link StoreError} naming `file` and the first problem found.
 */
export function parseStoreFile(text: string, file: string): StoreDocument {
  // Not a regular expression: the last string one matched stays referenced, and this is the file.
  if (text.trim() === '') {
    throw corruptError(file, `it is empty (${text.length} bytes)`);
  }

  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    throw corruptError(file, `it is not valid JSON (${(error as Error).message})`);
  }
  if (!isObject(data)) {
    throw corruptError(file, `it holds a JSON ${typeName(data)}, not a store document`);
  }
  if (data.format !== STORE_FORMAT) {
    throw corruptError(file, `its format is ${JSON.stringify(data.format)}, not ${STORE_FORMAT}`);
  }

  const { nextId, domains, orphans } = data;
  if (!isPositiveInteger(nextId)) {
    throw corruptError(file, '"nextId" is not a positive integer');
  }
  if (!isObject(domains)) {
    throw corruptError(file, '"domains" is not an object');
  }
  if (!Array.isArray(orphans) || !orphans.every((name) => typeof name === 'string')) {
    throw corruptError(file, '"orphans" is not a list of names');
  }
  for (const key in domains) {
    const problem = recordProblem(key, domains[key], nextId);
    if (problem !== undefined) throw corruptError(file, `domain "${key}" ${problem}`);
  }

  return {
    format: STORE_FORMAT,
    nextId,
    domains: domains as Record<string, DomainRecord>,
    orphans: orphans as string[],
  };
}

/**
 * The {@link DomainStore} on one JSON file. Reads come from in-memory indexes (by id, by name, by
 * tenant, and the pending set); each change resolves once a file write carrying it is durable, and
 * rejects with `WRITE_FAILED`, the change undone, when that write fails.
 *
 * Records handed out are frozen, arrays included: a caller that means to change one builds a new
 * object and goes through `update`. They are the store's own objects, not copies.
 */
export class JsonFileStore implements DomainStore {
  /** The store file, as an absolute path. */
  readonly file: string;
  readonly #db: Low<StoreDocument>;
  readonly #lock: FileLock;
  readonly #byId = new Map<number, DomainRecord>();
  readonly #byName = new Map<string, DomainRecord>();
  /** Each tenant's domains in ascending id order. */
  readonly #byTenant = new Map<string, DomainRecord[]>();
  readonly #pending = new Map<number, DomainRecord>();
  /** Changes not yet in a write: the next write takes them all. */
  #open: Batch | undefined;
  /** The changes of the write in flight. */
  #writing: Batch | undefined;
  #writes = 0;
  #closing: Promise<void> | undefined;

  /**
   * Takes over a loaded document and the file's lock. Use {@link openJsonFileStore}, which locks,
   * loads and validates first.
   */
  constructor(file: string, db: Low<StoreDocument>, lock: FileLock) {
    this.file = file;
    this.#db = db;
    this.#lock = lock;

    const { domains } = db.data;
    for (const key in domains) {
      const record = freezeRecord(domains[key] as DomainRecord);
      if (this.#byName.has(record.name)) {
        throw corruptError(file, `the name ${record.name} is held by two domains`);
      }
      this.#index(record);
    }
  }

  get size(): number {
    return this.#byId.size;
  }

  /** File writes completed since the store was opened; what group commit keeps low. */
  get writes(): number {
    return this.#writes;
  }

  get(id: number): DomainRecord | undefined {
    return this.#byId.get(id);
  }

  findByName(name: string): DomainRecord | undefined {
    return this.#byName.get(name);
  }

  listByTenant(tenantId: string): DomainRecord[] {
    return this.#byTenant.get(tenantId)?.slice() ?? [];
  }

  /** In ascending id order, so a reconciler that walks it checks the oldest domains first. */
  listPending(): DomainRecord[] {
    return Array.from(this.#pending.values()).sort((a, b) => a.id - b.id);
  }

  /** Rejects with `DUPLICATE_NAME`, changing nothing, when the name is already stored. */
  async insert(record: NewDomainRecord): Promise<DomainRecord> {
    this.#assertOpen();
    if (this.#byName.has(record.name)) {
      throw new StoreError('DUPLICATE_NAME', this.file, `${record.name} is already stored.`);
    }

    const document = this.#db.data;
    // The id goes last so that a caller's stray `id`, allowed by structural typing, cannot win.
    const stored = ownRecord({ ...record, id: document.nextId });
    // The id stays consumed even when the write fails: ids only grow, so no log or client can ever
    // see one id stand for two domains.
    document.nextId += 1;
    this.#put(stored);

    await this.#join(() => this.#drop(stored));
    return stored;
  }

  /** Applies `patch` over the stored record; `id`, `tenantId` and `name` never change. */
  async update(id: number, patch: DomainPatch): Promise<DomainRecord | undefined> {
    this.#assertOpen();
    const current = this.#byId.get(id);
    if (current === undefined) return undefined;

    const { tenantId, name } = current;
    const next = ownRecord({ ...current, ...patch, id, tenantId, name });
    this.#put(next);

    await this.#join(() => this.#put(current));
    return next;
  }

  async remove(id: number): Promise<boolean> {
    this.#assertOpen();
    const record = this.#byId.get(id);
    if (record === undefined) return false;

    this.#drop(record);

    await this.#join(() => this.#put(record));
    return true;
  }

  listOrphans(): string[] {
    return this.#db.data.orphans.slice();
  }

  async addOrphan(name: string): Promise<void> {
    this.#assertOpen();
    const { orphans } = this.#db.data;
    // Already listed, perhaps by a change still on its way to disk: answer when that is durable.
    if (orphans.includes(name)) return this.#lastWrite();

    orphans.push(name);

    await this.#join(() => orphans.splice(orphans.lastIndexOf(name), 1));
  }

  async removeOrphan(name: string): Promise<void> {
    this.#assertOpen();
    const { orphans } = this.#db.data;
    const index = orphans.indexOf(name);
    if (index === -1) return this.#lastWrite();

    orphans.splice(index, 1);

    await this.#join(() => orphans.splice(index, 0, name));
  }

  /**
   * Waits for every change made so far to be written, then releases the lock. Changes asked after
   * this are refused with `CLOSED`. Calling it again returns the same promise.
   */
  close(): Promise<void> {
    this.#closing ??= this.#shutDown();
    return this.#closing;
  }

  async #shutDown(): Promise<void> {
    for (let batch = this.#open ?? this.#writing; batch; batch = this.#open ?? this.#writing) {
      // A failed write has already told its callers; closing goes on.
      await batch.done.catch(() => undefined);
    }

    await this.#lock.release();
  }

  #assertOpen(): void {
    if (this.#closing !== undefined) {
      throw new StoreError('CLOSED', this.file, `${this.file} is closed; the change was not made.`);
    }
  }

  /** Adds a change, already made in memory, to the next file write; resolves once it is durable. */
  #join(undo: () => void): Promise<void> {
    if (this.#open === undefined) {
      this.#open = newBatch();
      // Started on a microtask, not now, so the changes made in the same tick share this write.
      if (this.#writing === undefined) queueMicrotask(() => void this.#drain());
    }

    this.#open.undos.push(undo);
    return this.#open.done;
  }

  /** Settles with the newest write that is started or due, which holds every change made so far. */
  #lastWrite(): Promise<void> {
    return (this.#open ?? this.#writing)?.done ?? Promise.resolve();
  }

  async #drain(): Promise<void> {
    while (this.#open !== undefined) {
      const batch = this.#open;
      this.#open = undefined;
      this.#writing = batch;
      try {
        await this.#db.write();
        this.#writes += 1;
        batch.resolve();
      } catch (cause) {
        this.#rollBack(batch, cause);
      }
    }

    this.#writing = undefined;
  }

  /**
   * Undoes a failed write's changes, newest first, and rejects their callers. The changes queued
   * behind it go too: they were made on top of the failed ones and cannot be kept without them.
   */
  #rollBack(failed: Batch, cause: unknown): void {
    const queued = this.#open;
    this.#open = undefined;
    const error = new StoreError(
      'WRITE_FAILED',
      this.file,
      `${this.file} could not be written (${(cause as Error).message}); the changes were undone.`,
      { cause },
    );

    for (const batch of queued === undefined ? [failed] : [queued, failed]) {
      for (let index = batch.undos.length - 1; index >= 0; index -= 1) {
        batch.undos[index]?.();
      }
      batch.reject(error);
    }
  }

  /** Adds a record to the document and the indexes, or replaces the one with its id. */
  #put(record: DomainRecord): void {
    this.#db.data.domains[record.id] = record;
    this.#index(record);
  }

  #index(record: DomainRecord): void {
    this.#byId.set(record.id, record);
    this.#byName.set(record.name, record);

    const list = this.#byTenant.get(record.tenantId);
    if (list === undefined) {
      this.#byTenant.set(record.tenantId, [record]);
    } else {
      const at = searchById(list, record.id);
      if (list[at]?.id === record.id) {
        list[at] = record;
      } else {
        list.splice(at, 0, record);
      }
    }

    if (record.verificationStatus === 'Pending') {
      this.#pending.set(record.id, record);
    } else {
      this.#pending.delete(record.id);
    }
  }

  #drop(record: DomainRecord): void {
    delete this.#db.data.domains[record.id];
    this.#byId.delete(record.id);
    this.#byName.delete(record.name);
    this.#pending.delete(record.id);

    const list = this.#byTenant.get(record.tenantId) ?? [];
    const at = searchById(list, record.id);
    if (list[at]?.id === record.id) list.splice(at, 1);
    if (list.length === 0) this.#byTenant.delete(record.tenantId);
  }
}

function defaultAdapter(file: string): Adapter<StoreDocument> {
  return new DurableJsonFile(file, {
    parse: (text) => parseStoreFile(text, file),
    serialize: storeFileChunks,
  });
}

function newBatch(): Batch {
  let resolve!: () => void;
  let reject!: (error: unknown) => void;
  const done = new Promise<void>((onResolve, onReject) => {
    resolve = onResolve;
    reject = onReject;
  });

  return { undos: [], done, resolve, reject };
}

/** A frozen copy of `record` sharing no array with it, so its author cannot change the store. */
function ownRecord(record: DomainRecord): DomainRecord {
  const copy: DomainRecord = { ...record, dkimTokens: [...record.dkimTokens] };
  if (record.recordChecks !== undefined) {
    copy.recordChecks = record.recordChecks.map((check) =>
      check.found === undefined ? { ...check } : { ...check, found: [...check.found] },
    );
  }

  return freezeRecord(copy);
}

/**
 * Freezes `record` (which the caller owns) after pointing its repeated parts at one shared copy:
 * the texts every domain of a tenant or a region repeats, and the record checks when they carry
 * nothing but statuses. About a quarter of what a domain costs in memory, 300 of ~1150 bytes.
 */
function freezeRecord(record: DomainRecord): DomainRecord {
  record.tenantId = shared(record.tenantId);
  record.signingHostedZone = shared(record.signingHostedZone);
  record.configurationSet = shared(record.configurationSet);
  if (record.recordChecks !== undefined) {
    record.recordChecks = sharedChecks(record.recordChecks);
  }

  Object.freeze(record.dkimTokens);
  for (const check of record.recordChecks ?? []) {
    Object.freeze(check.found);
    Object.freeze(check);
  }
  Object.freeze(record.recordChecks);

  return Object.freeze(record);
}

/** One copy of each text that records repeat; few: one per tenant, zone and configuration set. */
const sharedTexts = new Map<string, string>();

function shared(text: string): string {
  const known = sharedTexts.get(text);
  if (known !== undefined) return known;

  sharedTexts.set(text, text);
  return text;
}

/** Frozen lists of status-only checks, by their statuses joined: a handful in all. */
const sharedCheckLists = new Map<string, readonly RecordCheck[]>();

function sharedChecks(checks: RecordCheck[]): RecordCheck[] {
  if (checks.some((check) => check.found !== undefined)) return checks;

  const key = checks.map((check) => check.status).join(',');
  let list = sharedCheckLists.get(key);
  if (list === undefined) {
    list = Object.freeze(checks.map((check) => Object.freeze({ status: check.status })));
    sharedCheckLists.set(key, list);
  }
  return list as RecordCheck[];
}

/** The index of the first record of `list` (ascending ids) whose id is `id` or above. */
function searchById(list: readonly DomainRecord[], id: number): number {
  let low = 0;
  let high = list.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if ((list[middle] as DomainRecord).id < id) low = middle + 1;
    else high = middle;
  }

  return low;
}

function recordProblem(key: string, value: unknown, nextId: number): string | undefined {
  if (!isObject(value)) return 'is not an object';
  if (!isPositiveInteger(value.id) || String(value.id) !== key) return 'has an id unlike its key';
  if (value.id >= nextId) return `has an id not below "nextId" (${nextId})`;

  for (const field of TEXT_FIELDS) {
    if (typeof value[field] !== 'string') return `has no text "${field}"`;
  }
  if (!STATUSES.has(value.verificationStatus)) return 'has an unknown "verificationStatus"';

  const { dkimTokens, recordChecks } = value;
  if (!Array.isArray(dkimTokens) || !dkimTokens.every((token) => typeof token === 'string')) {
    return 'has "dkimTokens" that are not a list of text';
  }
  if (recordChecks !== undefined && !Array.isArray(recordChecks)) {
    return 'has "recordChecks" that are not a list';
  }

  return undefined;
}

function corruptError(file: string, problem: string): StoreError {
  return new StoreError(
    'CORRUPT',
    file,
    `${file} cannot be loaded: ${problem}. The file was left untouched; restore it from a backup ` +
      'or move it away to start with an empty store.',
  );
}

function openError(file: string, error: unknown): StoreError {
  if (error instanceof StoreError) return error;

  return new StoreError(
    'UNREADABLE',
    file,
    `${file} could not be opened: ${(error as Error).message}.`,
    { cause: error },
  );
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isPositiveInteger(value: unknown): value is number {
  return Number.isSafeInteger(value) && (value as number) > 0;
}

function typeName(value: unknown): string {
  if (value === null) return 'null';
  return Array.isArray(value) ? 'array' : typeof value;
}
