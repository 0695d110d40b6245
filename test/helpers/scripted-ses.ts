import { setTimeout as sleep } from 'node:timers/promises';

import type { SesMode } from '../../service/config';
import type {
  IdentityRegistration,
  IdentityStatus,
  SesIdentities,
} from '../../service/ses/identities';
import { SimulatedSesIdentities } from '../../service/ses/simulated';

/**
 * SES identities whose `status` answers what the test scripts, in `aws` mode by default so the
 * verifier asks it. Identities are created as the simulated backend makes them. It counts and
 * times `status` calls and tracks how many are in flight, for rate and concurrency assertions.
 *
 * @example
 * const ses = new ScriptedSes({ delayMs: 5 });
 * ses.answer = async () => ({ verificationStatus: 'Success', sesStatus: 'SUCCESS' });
 * // ... run the reconciler ...
 * assert.ok(ses.maxInFlight <= 4);
 */
export class ScriptedSes implements SesIdentities {
  readonly mode: SesMode;
  /** What `status` answers; Pending unless the test says otherwise. */
  answer: (domainName: string) => Promise<IdentityStatus> = async () => ({
    verificationStatus: 'Pending',
    sesStatus: 'PENDING',
  });
  /** `performance.now()` at each `status` call, in call order. */
  readonly calls: number[] = [];
  /** Domain names of the `status` calls, in call order. */
  readonly names: string[] = [];
  inFlight = 0;
  maxInFlight = 0;
  private readonly simulated = new SimulatedSesIdentities({ region: 'us-east-1' });
  private readonly delayMs: number;

  constructor(options: { mode?: SesMode; delayMs?: number } = {}) {
    this.mode = options.mode ?? 'aws';
    this.delayMs = options.delayMs ?? 0;
  }

  async start(): Promise<void> {}

  create(domainName: string): Promise<IdentityRegistration> {
    return this.simulated.create(domainName);
  }

  async delete(_domainName: string): Promise<void> {}

  close(): void {}

  async status(domainName: string): Promise<IdentityStatus> {
    this.calls.push(performance.now());
    this.names.push(domainName);
    this.inFlight += 1;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      if (this.delayMs > 0) {
        await sleep(this.delayMs);
      }
      return await this.answer(domainName);
    } finally {
      this.inFlight -= 1;
    }
  }
}
