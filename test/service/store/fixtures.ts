import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Adapter } from 'lowdb';
import { DurableJsonFile } from '../../../service/store/durable-json-file';
import {
  parseStoreFile,
  serializeStoreFile,
  type StoreDocument,
} from '../../../service/store/json-file-store';
import type { NewDomainRecord } from '../../../service/store/store';

export const TENANT_A = '0b7c3f4e-8f0e-4c39-9d5b-2f1d6a0e9a11';
export const TENANT_B = '6d2a9c1b-3e4f-4a5b-8c7d-9e0f1a2b3c4d';

/** The compiled store, for child processes that open it on their own. */
export const COMPILED_STORE = path.resolve(__dirname, '../../../service/store/json-file-store.js');

const created: string[] = [];

/** A fresh temp folder, removed by {@link removeFolders}. */
export function tempFolder(): string {
  const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'numonic-'));
  created.push(folder);
  return folder;
}

export function removeFolders(): void {
  for (const folder of created.splice(0)) fs.rmSync(folder, { recursive: true, force: true });
}

/** A domain as the domains feature would insert it. */
export function newDomain(name: string, tenantId = TENANT_A): NewDomainRecord {
  return {
    tenantId,
    name,
    identityArn: `arn:aws:ses:us-east-1:000000000000:identity/${name}`,
    verificationToken: 'QmFzZTY0VmVyaWZpY2F0aW9uVG9rZW5Gb3JUZXN0cw==',
    dkimTokens: ['a'.repeat(32), 'b'.repeat(32), 'c'.repeat(32)],
    signingHostedZone: 'dkim.amazonses.com',
    configurationSet: 'numonic-emails',
    verificationStatus: 'Pending',
    createdAt: '2025-01-01T00:00:00.000Z',
    updatedAt: '2025-01-01T00:00:00.000Z',
  };
}

/** Makes every write to `file` fail, as a full or read-only disk would, until the returned undo. */
export function breakWrites(file: string): () => void {
  // The store writes `<file>.tmp` first; a folder in its place makes that open fail.
  fs.mkdirSync(`${file}.tmp`);
  return () => fs.rmdirSync(`${file}.tmp`);
}

/**
 * The real file adapter, with hooks: it records what each write carried, can hold writes in flight
 * until released, and tells when the next write starts.
 */
export class ControlledAdapter implements Adapter<StoreDocument> {
  /** The document each write carried, in order. */
  readonly carried: StoreDocument[] = [];
  readonly #inner: DurableJsonFile<StoreDocument>;
  #gate: Promise<void> | undefined;
  #started: (() => void) | undefined;

  constructor(file: string) {
    this.#inner = new DurableJsonFile(file, {
      parse: (text) => parseStoreFile(text, file),
      serialize: serializeStoreFile,
    });
  }

  read(): Promise<StoreDocument | null> {
    return this.#inner.read();
  }

  async write(data: StoreDocument): Promise<void> {
    this.carried.push(JSON.parse(serializeStoreFile(data)) as StoreDocument);
    const writing = this.#inner.write(data);
    // Awaited after the gate; this keeps an early failure from counting as unhandled meanwhile.
    writing.catch(() => undefined);
    this.#started?.();

    await this.#gate;
    await writing;
  }

  /** Holds every write in flight until the returned function is called. */
  hold(): () => void {
    let release!: () => void;
    this.#gate = new Promise((resolve) => (release = resolve));
    return () => {
      this.#gate = undefined;
      release();
    };
  }

  /** Resolves when the next write starts. */
  nextWrite(): Promise<void> {
    return new Promise((resolve) => {
      this.#started = () => {
        this.#started = undefined;
        resolve();
      };
    });
  }
}

/** Runs `script` in a new node process with `args` as `process.argv.slice(1)`. */
export function spawnNode(script: string, args: string[]): ChildProcess {
  return spawn(process.execPath, ['-e', script, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
}

/** The child's first line of output; rejects if it exits before writing one. */
export function firstLine(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    let output = '';
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      output += chunk;
      const end = output.indexOf('\n');
      if (end !== -1) resolve(output.slice(0, end));
    });
    child.once('exit', (code) => reject(new Error(`child exited (${code}) with "${output}"`)));
  });
}

export function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}
