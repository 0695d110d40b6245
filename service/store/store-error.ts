/**
 * Why the JSON-file store failed, as a closed set:
 * - `LOCKED`: another live process, or another open store in this one, holds the file;
 * - `UNREADABLE`: the file or its folder could not be read or created;
 * - `CORRUPT`: the file is empty, not JSON, or not a store document (it is left untouched);
 * - `WRITE_FAILED`: a file write failed and the changes it carried were undone in memory;
 * - `DUPLICATE_NAME`: an insert named a domain the store already holds;
 * - `CLOSED`: a change was asked of a store that is closing or closed.
 */
export type StoreErrorCode =
  'LOCKED' | 'UNREADABLE' | 'CORRUPT' | 'WRITE_FAILED' | 'DUPLICATE_NAME' | 'CLOSED';

/**
 * A failure of the JSON-file store. Not an HTTP error: at start-up it stops the service with its
 * message, which names the file and the problem; during a request it becomes a 500.
 *
 * @example
 * try {
 *   await openJsonFileStore('./data/numonic.json');
 * } catch (error) {
 *   if (error instanceof StoreError && error.code === 'LOCKED') process.exit(1);
 *   throw error;
 * }
 */
export class StoreError extends Error {
  readonly code: StoreErrorCode;
  /** The store file concerned, as an absolute path. */
  readonly file: string;

  constructor(
    code: StoreErrorCode,
    file: string,
    message: string,
    options: { cause?: unknown } = {},
  ) {
    super(message, { cause: options.cause });
    this.name = 'StoreError';
    this.code = code;
    this.file = file;
  }
}
