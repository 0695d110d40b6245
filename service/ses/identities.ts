import type { SesMode } from '../config';
import type { VerificationStatus } from '../store/store';

/** What SES hands back when a domain identity is created: everything its DNS records derive from. */
export interface IdentityRegistration {
  identityArn: string;
  /** The `TXT _amazonses.<domain>` value, from SES v1 `VerifyDomainIdentity`. */
  verificationToken: string;
  /** Always three, in SES's order. */
  dkimTokens: string[];
  /** `dkim.amazonses.com` in most regions, regional elsewhere. */
  signingHostedZone: string;
}

export interface IdentityStatus {
  verificationStatus: VerificationStatus;
  /** SES's raw identity status (`PENDING`, `SUCCESS`, ...), for logs and troubleshooting. */
  sesStatus: string;
  dkimStatus?: string;
  /** SES's own account of its last DNS check (`VerificationInfo`), when it has one. */
  verificationInfo?: {
    errorType?: string;
    lastCheckedAt?: string;
    lastSuccessAt?: string;
  };
}

/**
 * Domain identities in SES, behind one small interface with a simulated and an AWS
 * implementation. Failures are thrown as `ApiError`: `CONFLICT` when SES already has the identity,
 * `UPSTREAM_UNAVAILABLE` when SES could not be reached or kept failing after retries.
 */
export interface SesIdentities {
  readonly mode: SesMode;
  /** One-time start-up work (AWS: caller identity, configuration set). */
  start(): Promise<void>;
  create(domainName: string): Promise<IdentityRegistration>;
  /** Removes the identity; one SES does not know counts as removed. */
  delete(domainName: string): Promise<void>;
  status(domainName: string): Promise<IdentityStatus>;
  /** Releases connections; called once when the service stops. */
  close(): void;
}
