/**
 * Numonic email sending domains as Pulumi resources: register a domain, get its DNS records as
 * typed outputs, and wait for it to be verified.
 *
 * @example
 * import { NumonicDomain, NumonicDomainVerification } from '@numonic/domains';
 *
 * // pulumi config set numonic:apiUrl https://api.numonic.com
 * // pulumi config set --secret numonic:apiToken <jwt>
 * const domain = new NumonicDomain('mail', { domainName: 'yourapp.com' });
 * export const dnsRecords = domain.dnsRecords;
 *
 * @packageDocumentation
 */

export { NumonicDomain, type NumonicDomainArgs } from './numonic-domain';
export {
  NumonicDomainVerification,
  type NumonicDomainVerificationArgs,
} from './numonic-domain-verification';
export type { NumonicDnsRecord } from './dns-records';
