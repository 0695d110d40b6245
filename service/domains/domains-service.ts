import type { Clock } from '../clock';
import { ApiError } from '../errors';
import type { Logger } from '../logger';
import { RateLimiter } from '../rate-limit';
import type { SesIdentities } from '../ses/identities';
import type { DomainRecord, DomainStore } from '../store/store';
import type { Verifier } from '../verification/verifier';
import type { OrphanSweeper } from '../ses/orphan-sweeper';
import { KeyedMutex } from './keyed-mutex';

export interface DomainsServiceDeps {
  store: DomainStore;
  ses: SesIdentities;
  clock: Clock;
  logger: Logger;
  configurationSet: string;
  /** Checks DNS and SES for one domain and stores the outcome (verify-now). */
  verifier: Pick<Verifier, 'refresh'>;
  /** Verify-now calls allowed per domain per minute (`NUMONIC_VERIFY_PER_MINUTE`). */
  verifyPerMinute: number;
  /**
   * The per-name lock, shared with the orphan sweeper so that it never deletes the identity of a
   * registration in progress.
   */
  names?: KeyedMutex;
  /** Lists an identity whose delete failed, so that it is deleted later. */
  orphans: Pick<OrphanSweeper, 'record' | 'clear'>;
}

/**
 * The domains feature: the business rules between the HTTP handlers, SES and the store. A domain
 * exists only when both SES and the store have it: registration creates the identity first and
 * deletes it again if the record cannot be stored; deletion removes the identity first and keeps
 * the record if SES fails, so the call can be retried.
 */
export class DomainsService {
  private readonly names: KeyedMutex;
  private readonly verifyLimit: RateLimiter;

  constructor(private readonly deps: DomainsServiceDeps) {
    this.verifyLimit = new RateLimiter(deps.verifyPerMinute, deps.clock);
    this.names = deps.names ?? new KeyedMutex();
  }

  async register(tenantId: string, name: string): Promise<DomainRecord> {
    return this.names.run(name, async () => {
      const { store, ses, clock } = this.deps;
      if (store.findByName(name) !== undefined) {
        throw new ApiError('CONFLICT', `The domain ${name} is already registered.`);
      }
      // An identity left by an earlier failed registration of this name would answer CONFLICT.
      await this.deps.orphans.clear(name);

      const identity = await ses.create(name);

      const now = new Date(clock.now()).toISOString();
      try {
        return await store.insert({
          tenantId,
          name,
          ...identity,
          configurationSet: this.deps.configurationSet,
          verificationStatus: 'Pending',
          createdAt: now,
          updatedAt: now,
        });
      } catch (error) {
        await this.discardIdentity(name);
        throw new ApiError('INTERNAL_ERROR', 'Something went wrong on our side.', { cause: error });
      }
    });
  }

  list(tenantId: string): DomainRecord[] {
    return this.deps.store.listByTenant(tenantId);
  }

  /** The tenant's domain, or 404: another tenant's domain is indistinguishable from none. */
  get(tenantId: string, id: number): DomainRecord {
    const domain = this.deps.store.get(id);
    if (domain === undefined || domain.tenantId !== tenantId) {
      throw new ApiError('NOT_FOUND', `Domain ${id} was not found.`);
    }
    return domain;
  }

  async remove(tenantId: string, id: number): Promise<void> {
    const { name } = this.get(tenantId, id);

    await this.names.run(name, async () => {
      // Looked up again: a racing delete of the same domain may have finished while we waited.
      this.get(tenantId, id);
      await this.deps.ses.delete(name);
      await this.deps.store.remove(id);
    });
  }

  /**
   * Checks the tenant's domain against DNS and SES now and returns it with the fresh results.
   * Limited per domain, after the ownership check so no tenant can spend another's allowance.
   */
  async verify(tenantId: string, id: number): Promise<DomainRecord> {
    this.get(tenantId, id);
    const retryAfter = this.verifyLimit.take(String(id));
    if (retryAfter > 0) {
      throw new ApiError('RATE_LIMITED', `Domain ${id} was checked too often; try again later.`, {
        retryAfter,
      });
    }

    const domain = await this.deps.verifier.refresh(id);
    if (domain === undefined) {
      throw new ApiError('NOT_FOUND', `Domain ${id} was not found.`);
    }
    return domain;
  }

  /**
   * Deletes an identity whose record could not be stored. One call: the SES client already retries
   * with backoff, and the name's lock is held meanwhile. When SES still refuses, the name goes to
   * the persisted orphan list, which the orphan sweeper retries until SES confirms the delete.
   */
  private async discardIdentity(name: string): Promise<void> {
    const { ses, orphans, logger } = this.deps;
    try {
      await ses.delete(name);
      return;
    } catch (error) {
      logger.warn({ domain: name, err: error }, 'could not delete unstored identity');
    }

    await orphans.record(name);
  }
}
