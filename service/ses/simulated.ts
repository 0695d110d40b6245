import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';

import type { IdentityRegistration, IdentityStatus, SesIdentities } from './identities';

export interface SimulatedSesOptions {
  region: string;
  /** Latency added to every call, so races and timeouts can be exercised without AWS. */
  delayMs?: number;
}

const DKIM_ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';

/**
 * SES without AWS: identities get tokens shaped like SES's (three 32-character DKIM tokens, a
 * 44-character base64 verification token, zone `dkim.amazonses.com`) under the placeholder
 * account `000000000000`. Nothing is sent anywhere, so this mode never verifies a domain through
 * SES; the service's own DNS checks decide its status.
 */
export class SimulatedSesIdentities implements SesIdentities {
  readonly mode = 'simulated';
  private readonly region: string;
  private readonly delayMs: number;

  constructor(options: SimulatedSesOptions) {
    this.region = options.region;
    this.delayMs = options.delayMs ?? 0;
  }

  async start(): Promise<void> {}

  async create(domainName: string): Promise<IdentityRegistration> {
    await this.latency();

    return {
      identityArn: `arn:aws:ses:${this.region}:000000000000:identity/${domainName}`,
      verificationToken: randomBytes(32).toString('base64'),
      dkimTokens: [dkimToken(), dkimToken(), dkimToken()],
      signingHostedZone: 'dkim.amazonses.com',
    };
  }

  async delete(_domainName: string): Promise<void> {
    await this.latency();
  }

  async status(_domainName: string): Promise<IdentityStatus> {
    await this.latency();
    return { verificationStatus: 'Pending', sesStatus: 'PENDING' };
  }

  close(): void {}

  private async latency(): Promise<void> {
    if (this.delayMs > 0) {
      await sleep(this.delayMs);
    }
  }
}

function dkimToken(): string {
  const bytes = randomBytes(32);
  let token = '';
  for (const byte of bytes) {
    token += DKIM_ALPHABET[byte % DKIM_ALPHABET.length];
  }
  return token;
}
