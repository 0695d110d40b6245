// The service's domain as it comes over the wire, and the record outputs derived from it.
//
// Runs in the Pulumi provider process from the serialized provider text; it imports nothing.

/**
 * A DNS record to create at the domain's DNS host. Names are absolute, without the trailing dot.
 *
 * @example
 * const txt: NumonicDnsRecord = {
 *   type: 'TXT',
 *   name: '_amazonses.yourapp.com',
 *   value: 'pmBGN/7MjnfhTKUZ06Enqq1PeGUaOkw8lGhcfwefcHU=',
 * };
 */
export interface NumonicDnsRecord {
  /** `TXT` or `CNAME`. */
  type: string;
  /** The absolute record name, e.g. `_amazonses.yourapp.com`. */
  name: string;
  /** The record's value, e.g. the verification token or a DKIM target. */
  value: string;
}

/**
 * One record as the service sends it: `status` and `found` come from the service's own DNS
 * checks, once one has run.
 *
 * @example
 * const record: ApiDnsRecord = {
 *   type: 'TXT',
 *   name: '_amazonses.yourapp.com',
 *   value: 'abc',
 *   status: 'pending',
 * };
 */
export interface ApiDnsRecord extends NumonicDnsRecord {
  status?: string;
  found?: unknown;
}

/**
 * A domain as `GET /api/v1/domains/:id` answers it (`POST` may omit the status fields, the list
 * omits `dns_records`).
 *
 * @example
 * const domain = await requestJson<ApiDomain>(target, 'GET', '/api/v1/domains/42');
 */
export interface ApiDomain {
  domain_id: number;
  tenant_id: string;
  domain_name: string;
  identity_arn: string;
  verification_status?: string;
  configuration_set_name?: string;
  verified_at?: string | null;
  dns_records?: ApiDnsRecord[];
}

/**
 * The record outputs of a `NumonicDomain`, derived from a domain the service returned.
 *
 * @example
 * const { verificationRecord, dkimRecords }: DomainRecordOutputs = recordOutputs(domain);
 */
export interface DomainRecordOutputs {
  dnsRecords: NumonicDnsRecord[];
  verificationRecord: NumonicDnsRecord | undefined;
  dkimRecords: NumonicDnsRecord[];
}

/**
 * Splits the service's records into the resource's record outputs, keeping only `type`, `name`
 * and `value` so that fields the service adds (`status`, `found`) never show as a diff.
 *
 * @example
 * recordOutputs(domain).dkimRecords.length // 3
 */
export function recordOutputs(domain: ApiDomain): DomainRecordOutputs {
  const dnsRecords = (domain.dns_records ?? []).map((record): NumonicDnsRecord => ({
    type: record.type,
    name: record.name,
    value: record.value,
  }));

  const verificationName = `_amazonses.${domain.domain_name}`;
  const verificationRecord = dnsRecords.find(
    (record) => record.type === 'TXT' && record.name === verificationName,
  );
  const dkimSuffix = `._domainkey.${domain.domain_name}`;
  const dkimRecords = dnsRecords.filter(
    (record) => record.type === 'CNAME' && record.name.endsWith(dkimSuffix),
  );

  return { dnsRecords, verificationRecord, dkimRecords };
}

/**
 * One line per record that DNS does not yet show as verified: type, name, expected value and,
 * when the service checked it, its status and what DNS answered instead. Records without a
 * status are all listed, since nothing says they are in place.
 *
 * @example
 * missingRecordLines(domain)
 * // ['TXT _amazonses.yourapp.com = "abc" (status: mismatch; DNS answered: "old")']
 */
export function missingRecordLines(domain: ApiDomain): string[] {
  const missing = (domain.dns_records ?? []).filter((record) => record.status !== 'verified');

  return missing.map((record) => {
    const notes: string[] = [];
    if (typeof record.status === 'string') {
      notes.push(`status: ${record.status}`);
    }
    const found = Array.isArray(record.found) ? record.found : [];
    if (found.length > 0) {
      notes.push(`DNS answered: ${found.map((value) => JSON.stringify(value)).join(', ')}`);
    } else if (record.status === 'mismatch') {
      notes.push('DNS answered nothing');
    }
    const suffix = notes.length > 0 ? ` (${notes.join('; ')})` : '';
    return `${record.type} ${record.name} = ${JSON.stringify(record.value)}${suffix}`;
  });
}
