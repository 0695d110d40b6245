import type { KeyedMutex } from '../domains/keyed-mutex';
import type { Logger } from '../logger';
import type { DomainStore } from '../store/store';
import type { SesIdentities } from './identities';

export interface OrphanSweeperOptions {
  store: Pick<DomainStore, 'findByName' | 'listOrphans' | 'addOrphan' | 'removeOrphan'>;
  ses: Pick<SesIdentities, 'delete'>;
  /** Time between two sweeps (`NUMONIC_ORPHAN_RETRY_SECONDS` × 1000). */
  intervalMs: number;
  logger: Logger;
  /**
   * The per-name lock that registration and deletion hold across their SES calls. Without it, a
   * sweep could delete the identity of a registration of the same name whose record is not
   * stored yet.
   */
  names?: Pick<KeyedMutex, 'run'>;
}

/** What one sweep did, by domain name. */
export interface SweepResult {
  deleted: string[];
  /** Names the store holds as live domains again: dropped from the list, identity kept. */
  live: string[];
  failed: string[];
}

/**
 * Deletes, again and again, the SES identities whose clean-up failed (the store's orphan list),
 * and forgets each name once SES confirms it gone. {@link record} lists a name; one the store
 * cannot list (its writes failing too) is held in memory and swept the same way. Should the
 * process stop before SES or the store recovers, such a name is lost and its identity stays in
 * SES, named in the error log. Run `sweep()` once at start-up, then `start()`
 * for the periodic retries; `stop()` before closing the store.
 *
 * @example
 * const sweeper = new OrphanSweeper({ store, ses, intervalMs: 60_000, logger, names });
 * await sweeper.sweep();
 * sweeper.start();
 * // on shutdown
 * await sweeper.stop();
 */
export class OrphanSweeper {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<SweepResult> | undefined;
  private stopping = false;
  /** Orphans whose listing in the store failed: swept from memory until SES or the store heals. */
  private readonly unlisted = new Set<string>();

  constructor(private readonly options: OrphanSweeperOptions) {}

  /**
   * Lists the identity `name`, whose delete failed, for the next sweeps: in the store, or in memory
   * when the store refuses the write. Never rejects.
   */
  async record(name: string): Promise<void> {
    try {
      await this.options.store.addOrphan(name);
    } catch (error) {
      this.options.logger.error(
        { domain: name, err: error },
        'orphaned SES identity could not be listed in the store; its delete is retried from memory',
      );
      this.unlisted.add(name);
    }
  }

  /** One pass over the orphan list. Never rejects: failures are logged and retried next time. */
  sweep(): Promise<SweepResult> {
    // A sweep still running when the timer fires is joined rather than doubled.
    this.running ??= this.sweepOnce().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  /** Sweeps every `intervalMs` until `stop()`; the timer never keeps the process alive. */
  start(): void {
    if (this.timer !== undefined) {
      return;
    }
    this.timer = setInterval(() => void this.sweep(), this.options.intervalMs);
    this.timer.unref();
  }

  /**
   * Stops the timer and waits for a sweep in progress to finish the name it is on (it skips the
   * rest), so the store can be closed after it.
   */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    this.stopping = true;
    try {
      await this.running;
    } finally {
      this.stopping = false;
    }
  }

  /**
   * Deletes the identity `name` now if it is listed as an orphan, so that a registration of the
   * name meets no leftover of its own. The caller holds the name's lock. Rejects with SES's
   * `UPSTREAM_UNAVAILABLE` when SES still refuses the delete: the registration would otherwise
   * meet its own leftover and answer 409 for a name nobody holds.
   */
  async clear(name: string): Promise<void> {
    if (this.unlisted.has(name) || this.options.store.listOrphans().includes(name)) {
      const { sesError } = await this.sweepName(name);
      if (sesError !== undefined) {
        throw sesError;
      }
    }
  }

  private async sweepOnce(): Promise<SweepResult> {
    const result: SweepResult = { deleted: [], live: [], failed: [] };
    const names = this.options.names ?? { run: (_key, task) => task() };
    const orphans = new Set([...this.options.store.listOrphans(), ...this.unlisted]);
    for (const name of orphans) {
      if (this.stopping) {
        break;
      }
      const { outcome } = await names.run(name, () => this.sweepName(name));
      result[outcome].push(name);
    }

    const { deleted, live, failed } = result;
    if (deleted.length + live.length + failed.length > 0) {
      this.options.logger.info(
        { deleted: deleted.length, live: live.length, failed: failed.length },
        'orphaned SES identities swept',
      );
    }
    return result;
  }

  /** Deletes one orphan; `sesError` is SES's refusal, when that is why it failed. */
  private async sweepName(
    name: string,
  ): Promise<{ outcome: keyof SweepResult; sesError?: unknown }> {
    const { store, ses, logger } = this.options;
    // A registration of the same name succeeded since: the identity is that domain's now.
    if (store.findByName(name) !== undefined) {
      return { outcome: (await this.forget(name)) ? 'live' : 'failed' };
    }

    try {
      await ses.delete(name);
    } catch (error) {
      logger.warn({ domain: name, err: error }, 'orphaned SES identity still not deleted');
      await this.list(name);
      return { outcome: 'failed', sesError: error };
    }
    return { outcome: (await this.forget(name)) ? 'deleted' : 'failed' };
  }

  /** Moves a name held in memory into the store's list, once the store takes writes again. */
  private async list(name: string): Promise<void> {
    if (!this.unlisted.has(name)) return;
    try {
      await this.options.store.addOrphan(name);
      this.unlisted.delete(name);
    } catch {
      // Still only in memory; the next sweep tries again.
    }
  }

  private async forget(name: string): Promise<boolean> {
    if (this.unlisted.delete(name) && !this.options.store.listOrphans().includes(name)) {
      return true;
    }
    try {
      await this.options.store.removeOrphan(name);
      return true;
    } catch (error) {
      this.options.logger.warn({ domain: name, err: error }, 'orphan list could not be updated');
      return false;
    }
  }
}
