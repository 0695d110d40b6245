// A lowdb adapter whose write survives a crash at any instant: the new content goes to a temp file
// in the same folder, is fsynced, renamed over the target (atomic within one file system) and the
// folder is fsynced so the rename itself is on disk. A reader, or a restart after kill -9 or power
// loss, finds either the old complete file or the new one, never a mix.
//
// `write` asks the codec for the file's text before its first await. lowdb's `Low.write()` calls it
// synchronously, so what a write stores is fixed the moment it starts and changes made while it is
// in flight wait for the next one. The text may come as chunks produced while the write goes on
// (from a snapshot the codec took at once): each is written before the next is made, so a large
// document never sits in memory as one string and its encoded copy, and the event loop serves
// other work between chunks. Folder fsync is what Linux and macOS need for a durable rename; it
// is POSIX-only.

import { readFileSync } from 'node:fs';
import { open, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import type { Adapter } from 'lowdb';

/** How a document becomes file text and back. */
export interface JsonCodec<T> {
  /** Turns the file's text into a document; throws when the text is not one. */
  parse(text: string): T;
  /**
   * Turns a document into the file's text, whole or as chunks to write in order. Called
   * synchronously when a write starts: chunks produced later must come from what `data` held then.
   */
  serialize(data: T): string | Iterable<string>;
}

/**
 * A lowdb `Adapter` on one file, with durable atomic writes (temp file, fsync, rename, fsync of the
 * folder). Writes must not overlap: the caller (lowdb's `Low` driven by one writer) runs one at a
 * time. The file is written with mode 0600, since it holds every tenant's data.
 *
 * @example
 * const file = new DurableJsonFile('/var/lib/app/db.json', {
 *   parse: (text) => JSON.parse(text) as Db,
 *   serialize: (data) => JSON.stringify(data),
 * });
 * const db = new Low(file, { items: [] });
 */
export class DurableJsonFile<T> implements Adapter<T> {
  readonly file: string;
  readonly #folder: string;
  readonly #temp: string;
  readonly #codec: JsonCodec<T>;

  constructor(file: string, codec: JsonCodec<T>) {
    this.file = file;
    this.#folder = path.dirname(file);
    this.#temp = `${file}.tmp`;
    this.#codec = codec;
  }

  /** The parsed document, or `null` when the file does not exist. */
  async read(): Promise<T | null> {
    let text: string;
    try {
      // Synchronous on purpose: Node decodes a synchronous UTF-8 read straight into a string, where
      // the asynchronous one also holds a Buffer of the whole file, ~90 MB more at the start-up
      // peak with 100k domains. It runs once, before the service listens.
      text = readFileSync(this.file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw error;
    }

    return this.#codec.parse(text);
  }

  /** Resolves once `data`, as it was when called, is durably the file's content. */
  async write(data: T): Promise<void> {
    const text = this.#codec.serialize(data);

    try {
      await writeSynced(this.#temp, typeof text === 'string' ? [text] : text);
      await rename(this.#temp, this.file);
    } catch (error) {
      await rm(this.#temp, { force: true }).catch(() => undefined);
      throw error;
    }

    // Should this fail, the new content is in place although the write rejects; the store's next
    // write brings the file back in line with what it holds in memory.
    await syncFolder(this.#folder);
  }
}

async function writeSynced(file: string, chunks: Iterable<string>): Promise<void> {
  const handle = await open(file, 'w', 0o600);
  try {
    for (const chunk of chunks) {
      await handle.writeFile(chunk, 'utf8');
    }
    await handle.sync();
  } finally {
    await handle.close();
  }
}

async function syncFolder(folder: string): Promise<void> {
  const handle = await open(folder, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
