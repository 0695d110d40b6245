import type { DnsRecord, DomainDetail, DomainSummary } from '../schemas';
import type { DomainRecord } from '../store/store';

/**
 * The records a customer adds at their DNS host, derived from the SES tokens the store keeps:
 * the `TXT _amazonses` verification record, then the three DKIM CNAMEs in SES's order.
 */
export function dnsRecordsOf(domain: DomainRecord): DnsRecord[] {
  const records: DnsRecord[] = [
    { type: 'TXT', name: `_amazonses.${domain.name}`, value: domain.verificationToken },
    ...domain.dkimTokens.map((token): DnsRecord => ({
      type: 'CNAME',
      name: `${token}._domainkey.${domain.name}`,
      value: `${token}.${domain.signingHostedZone}`,
    })),
  ];

  return records.map((record, index) => {
    const check = domain.recordChecks?.[index];
    if (check === undefined) {
      return record;
    }
    return check.status === 'mismatch'
      ? { ...record, status: check.status, found: check.found ?? [] }
      : { ...record, status: check.status };
  });
}

export function toSummary(domain: DomainRecord): DomainSummary {
  return {
    domain_id: domain.id,
    tenant_id: domain.tenantId,
    domain_name: domain.name,
    verification_status: domain.verificationStatus,
    identity_arn: domain.identityArn,
    configuration_set_name: domain.configurationSet,
    created_at: domain.createdAt,
    verified_at: domain.verifiedAt ?? null,
    checked_at: domain.checkedAt ?? null,
  };
}

export function toDetail(domain: DomainRecord): DomainDetail {
  return { ...toSummary(domain), dns_records: dnsRecordsOf(domain) };
}
