import type { IdentityRegistration } from '../ses/identities';

export type VerificationStatus = 'Pending' | 'Success' | 'Failed';

/** The per-record DNS check result of one `dns_records` item, in the same order. */
export interface RecordCheck {
  status: 'verified' | 'pending' | 'mismatch';
  /** What DNS answered, kept only on a mismatch. */
  found?: string[];
}

/**
 * One registered domain as the store keeps it. The DNS records are not stored: they are derived
 * from the SES tokens (see `domains/view.ts`), which keeps the file, and so every write, small.
 */
export interface DomainRecord extends IdentityRegistration {
  id: number;
  tenantId: string;
  /** The normalized name: unique across all tenants. */
  name: string;
  configurationSet: string;
  verificationStatus: VerificationStatus;
  createdAt: string;
  updatedAt: string;
  /** When the status became `Success`. */
  verifiedAt?: string;
  /** When DNS and SES were last checked. */
  checkedAt?: string;
  recordChecks?: RecordCheck[];
}

export type NewDomainRecord = Omit<DomainRecord, 'id'>;
export type DomainPatch = Partial<Omit<DomainRecord, 'id' | 'tenantId' | 'name'>>;

/**
 * Where domains live. Reads are synchronous, from memory; every write resolves only once it is
 * durable on disk, and rejects (with the change undone in memory) when it could not be made so.
 */
export interface DomainStore {
  readonly size: number;
  get(id: number): DomainRecord | undefined;
  findByName(name: string): DomainRecord | undefined;
  /** The tenant's domains in ascending id order. */
  listByTenant(tenantId: string): DomainRecord[];
  /** Every domain whose status is `Pending`, for the reconciler. */
  listPending(): DomainRecord[];
  /** Stores a new domain under the next id, which is never reused even after a delete. */
  insert(record: NewDomainRecord): Promise<DomainRecord>;
  update(id: number, patch: DomainPatch): Promise<DomainRecord | undefined>;
  remove(id: number): Promise<boolean>;
  /** SES identities whose clean-up failed, by domain name, to be deleted again later. */
  listOrphans(): string[];
  addOrphan(name: string): Promise<void>;
  removeOrphan(name: string): Promise<void>;
  /** Writes whatever is pending, then releases the file. */
  close(): Promise<void>;
}
