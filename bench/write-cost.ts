// What one store write costs at a given size, timed in this process on the round's own store file
// with the store's own parser and serializer. The service writes the whole document for every
// group of changes, so these figures bound its POST rate and explain how it falls off with N.

import { openSync, closeSync, fsyncSync, readFileSync, rmSync, writeSync } from 'node:fs';

import { parseStoreFile, serializeStoreFile } from '../service/store/json-file-store';

export interface WriteCost {
  /** Reading and validating the file, as start-up does, in milliseconds. */
  parseMs: number;
  /** Serializing the whole document, in milliseconds; the event loop is blocked meanwhile. */
  serializeMs: number;
  /** Writing the text to a new file, in milliseconds. */
  writeMs: number;
  /** fsync of that file, in milliseconds. */
  fsyncMs: number;
}

const REPEATS = 3;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
}

function timed<T>(work: () => T): [T, number] {
  const started = performance.now();
  const value = work();
  return [value, performance.now() - started];
}

export function measureWriteCost(storeFile: string): WriteCost {
  const samples: WriteCost[] = [];
  const scratch = `${storeFile}.bench-write`;

  for (let attempt = 0; attempt < REPEATS; attempt += 1) {
    const [document, parseMs] = timed(() =>
      parseStoreFile(readFileSync(storeFile, 'utf8'), storeFile),
    );
    const [text, serializeMs] = timed(() => serializeStoreFile(document));
    const fd = openSync(scratch, 'w', 0o600);
    try {
      const [, writeMs] = timed(() => writeSync(fd, text));
      const [, fsyncMs] = timed(() => fsyncSync(fd));
      samples.push({ parseMs, serializeMs, writeMs, fsyncMs });
    } finally {
      closeSync(fd);
      rmSync(scratch, { force: true });
    }
  }

  return {
    parseMs: median(samples.map((sample) => sample.parseMs)),
    serializeMs: median(samples.map((sample) => sample.serializeMs)),
    writeMs: median(samples.map((sample) => sample.writeMs)),
    fsyncMs: median(samples.map((sample) => sample.fsyncMs)),
  };
}
