// The syntactic domain-name rules, shared by the service and the Pulumi provider's `check`.
//
// This module is captured into the provider text that Pulumi serializes, so it must stay free of
// dependencies beyond node built-ins and keep no state at module level. Nothing used inside the
// functions may be exported either: TypeScript turns such a use into `exports.NAME`, the serializer
// then captures the whole module, and once the package is installed under node_modules it writes
// that as a `require()` of a path our `exports` map refuses. The public-suffix rule needs a list
// package, so the service adds it on top (see `public-suffix.ts`).

import { isIP } from 'net';
import { domainToASCII } from 'url';

/** Longest normalized name: leaves room for `<32-char token>._domainkey.` within 253 characters. */
const MAX_DOMAIN_LENGTH = 209;

export type DomainNameResult = { ok: true; name: string } | { ok: false; message: string };

/**
 * Normalizes a domain name the way the contract stores and compares it: trimmed, one trailing dot
 * stripped, IDNA to ASCII, lowercase. Returns a failure with a sentence for anything that cannot be
 * an email sending domain.
 *
 * @example
 * normalizeDomainName(' Bücher.Example.com. ') // { ok: true, name: 'xn--bcher-kva.example.com' }
 */
export function normalizeDomainName(input: unknown): DomainNameResult {
  if (typeof input !== 'string') {
    return { ok: false, message: 'domain_name must be a string.' };
  }

  let text = input.trim();
  if (text === '') {
    return { ok: false, message: 'domain_name must not be empty.' };
  }
  if (!/^[\p{L}\p{M}\p{Nd}.-]+$/u.test(text)) {
    return {
      ok: false,
      message: 'domain_name may contain only letters, digits, hyphens and dots.',
    };
  }
  if (text.endsWith('.')) {
    text = text.slice(0, -1);
  }

  const ascii = domainToASCII(text).toLowerCase();
  if (ascii === '') {
    return { ok: false, message: `"${text}" is not a valid domain name.` };
  }

  const failure = syntaxFailure(ascii);
  return failure === undefined ? { ok: true, name: ascii } : { ok: false, message: failure };
}

function syntaxFailure(name: string): string | undefined {
  const labels = name.split('.');
  const last = labels[labels.length - 1] ?? '';

  if (isIP(name) !== 0 || /^(0x[0-9a-f]*|[0-9]+)$/.test(last)) {
    return `"${name}" is an IP address, not a domain name.`;
  }
  if (labels.length < 2) {
    return `"${name}" needs at least two labels, like yourapp.com.`;
  }
  if (name.length > MAX_DOMAIN_LENGTH) {
    return `"${name}" is longer than ${MAX_DOMAIN_LENGTH} characters.`;
  }
  for (const label of labels) {
    if (label.length < 1 || label.length > 63) {
      return `"${name}" has a label that is empty or longer than 63 characters.`;
    }
    if (!/^[a-z0-9-]+$/.test(label) || label.startsWith('-') || label.endsWith('-')) {
      return `"${name}" has a label "${label}" that is not letters, digits and inner hyphens.`;
    }
  }

  const reserved = ['localhost', 'test', 'invalid', 'example'];
  if (name === 'localhost' || reserved.includes(last)) {
    return `"${name}" is under the reserved name ".${last}" and cannot receive email.`;
  }
  return undefined;
}
