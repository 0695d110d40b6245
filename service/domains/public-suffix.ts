import { getPublicSuffix } from 'tldts';

import { normalizeDomainName, type DomainNameResult } from './domain-name';

/**
 * The service's full domain-name rule: the shared syntactic rules, then refusal of a name that is
 * itself a public suffix in the ICANN section of the Public Suffix List (`co.uk`, `com.au`), which
 * nobody can own and so nobody can verify.
 */
export function validateDomainName(input: unknown): DomainNameResult {
  const result = normalizeDomainName(input);
  if (!result.ok) {
    return result;
  }

  const suffix = getPublicSuffix(result.name, { allowPrivateDomains: false });
  if (suffix === result.name) {
    return { ok: false, message: `"${result.name}" is a public suffix, not a registrable domain.` };
  }
  return result;
}
