import type { KeyedMutex } from '../domains/keyed-mutex';
import type { Logger } from '../logger';
import type { DomainStore } from '../store/store';
import type { SesIdentities } from './identities';

export interface OrphanSweeperOptions {
  store: Pick<DomainStore, 'findByName' | 'listOrphans' | 'removeOrphan'>;
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
 * and forgets each name once SES confirms it gone. Run `sweep()` once at start-up, then `start()`
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

  constructor(private readonly options: OrphanSweeperOptions) {}

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

  private async sweepOnce(): Promise<SweepResult> {
    const result: SweepResult = { deleted: [], live: [], failed: [] };
    const names = this.options.names ?? { run: (_key, task) => task() };
    for (const name of this.options.store.listOrphans()) {
      if (this.stopping) {
        break;
      }
      const outcome = await names.run(name, () => this.sweepName(name));
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

  private async sweepName(name: string): Promise<keyof SweepResult> {
    const { store, ses, logger } = this.options;
    // A registration of the same name succeeded since: the identity is that domain's now.
    if (store.findByName(name) !== undefined) {
      return (await this.forget(name)) ? 'live' : 'failed';
    }

    try {
      await ses.delete(name);
    } catch (error) {
      logger.warn({ domain: name, err: error }, 'orphaned SES identity still not deleted');
      return 'failed';
    }
    return (await this.forget(name)) ? 'deleted' : 'failed';
  }

  private async forget(name: string): Promise<boolean> {
    try {
      await this.options.store.removeOrphan(name);
      return true;
    } catch (error) {
      this.options.logger.warn({ domain: name, err: error }, 'orphan list could not be updated');
      return false;
    }
  }
}
