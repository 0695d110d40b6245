// Where the providers find the API URL and token.
//
// This runs in the Pulumi provider process, at call time. Nothing here may run at module level:
// the provider is serialized into state, so a value read while the program loads (an environment
// variable, a token) would be frozen into that text in plaintext, and a token rotated later would
// never be seen.

import type { ConfigureRequest } from '@pulumi/pulumi/dynamic';

import { numonicApiError, type ApiTarget } from './api-client';
import { isUnknown, plainValue } from './properties';

// What this module calls from others, bound to a plain object: the serializer captures it by
// value, where it would capture the imported modules by reference (see `numonic-domain.ts`).
const lib = { numonicApiError, isUnknown, plainValue };

/**
 * The credentials the stack's configuration provides, captured by the provider's `configure`.
 *
 * @example
 * const stack: StackCredentials = { apiUrl: 'https://api.numonic.com' };
 */
export interface StackCredentials {
  apiUrl?: string;
  apiToken?: string;
}

/**
 * The credentials a resource was given as inputs, as last stored in its state.
 *
 * @example
 * const inputs: CredentialInputs = { apiToken: olds.apiToken };
 */
export interface CredentialInputs {
  apiUrl?: unknown;
  apiToken?: unknown;
}

/**
 * Reads `numonic:apiUrl` and `numonic:apiToken` from the stack configuration handed to a dynamic
 * provider's `configure` (secrets arrive already unwrapped). A host that was never configured
 * yields nothing rather than an error.
 *
 * @example
 * const stack = readStackCredentials(req);
 * // { apiUrl: 'https://api.numonic.com', apiToken: 'eyJhbGciOi…' }
 */
export function readStackCredentials(req: ConfigureRequest): StackCredentials {
  const read = (key: string): string | undefined => {
    try {
      const value = lib.plainValue(req.config.get(key));
      return typeof value === 'string' && value !== '' ? value : undefined;
    } catch {
      return undefined;
    }
  };

  return { apiUrl: read('numonic:apiUrl'), apiToken: read('numonic:apiToken') };
}

/**
 * Resolves the URL and the token, each on its own: the resource's input, then the stack
 * configuration, then `NUMONIC_API_URL` / `NUMONIC_API_TOKEN`. Throws a `NumonicApiError` with
 * code `INVALID_CONFIGURATION` naming the three ways when one is missing, or when the URL is not
 * a plain `http(s)` URL.
 *
 * @example
 * const target = resolveCredentials(olds, stack);
 * await requestJson(target, 'DELETE', `/api/v1/domains/${id}`);
 */
export function resolveCredentials(inputs: CredentialInputs, stack: StackCredentials): ApiTarget {
  const pick = (...values: unknown[]): string | undefined => {
    for (const value of values.map(lib.plainValue)) {
      if (typeof value === 'string' && value.trim() !== '') {
        return value.trim();
      }
    }
    return undefined;
  };
  const apiUrl = pick(inputs.apiUrl, stack.apiUrl, process.env.NUMONIC_API_URL);
  const apiToken = pick(inputs.apiToken, stack.apiToken, process.env.NUMONIC_API_TOKEN);

  if (apiUrl === undefined || apiToken === undefined) {
    const message = missingMessage(apiUrl === undefined, apiToken === undefined);
    throw lib.numonicApiError('INVALID_CONFIGURATION', message);
  }

  const failure = apiUrlFailure(apiUrl);
  if (failure !== undefined) {
    throw lib.numonicApiError('INVALID_CONFIGURATION', failure);
  }
  return { apiUrl, apiToken };
}

function missingMessage(noUrl: boolean, noToken: boolean): string {
  const url = {
    what: 'URL',
    input: '`apiUrl`',
    config: '`pulumi config set numonic:apiUrl <url>`',
    env: 'NUMONIC_API_URL',
  };
  const token = {
    what: 'token',
    input: '`apiToken`',
    config: '`pulumi config set --secret numonic:apiToken <jwt>`',
    env: 'NUMONIC_API_TOKEN',
  };
  const missing = [...(noUrl ? [url] : []), ...(noToken ? [token] : [])];
  const and = (key: keyof typeof url) => missing.map((item) => item[key]).join(' and ');

  const [was, it, input] = missing.length > 1 ? ['were', 'them', 'inputs'] : ['was', 'it', 'input'];

  return (
    `No Numonic API ${and('what')} ${was} found. Give ${it} in one of three ways: the ` +
    `resource's ${and('input')} ${input}, the stack configuration (${and('config')}), or the ` +
    `environment of \`pulumi\` (${and('env')}).`
  );
}

/**
 * Why a text cannot be the API's base URL, or `undefined` when it can: it must be an absolute
 * `http` or `https` URL without user name, password, query or fragment.
 *
 * @example
 * apiUrlFailure('ftp://example.com') // 'apiUrl must be an http or https URL, ...'
 */
export function apiUrlFailure(text: string): string | undefined {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return 'apiUrl must be an absolute http or https URL, e.g. https://api.numonic.com.';
  }

  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    return 'apiUrl must be an http or https URL, e.g. https://api.numonic.com.';
  }
  // Named without echoing the URL: userinfo may be a password.
  if (url.username !== '' || url.password !== '') {
    return 'apiUrl must not contain a user name or password; give the token as apiToken.';
  }
  if (url.search !== '' || url.hash !== '') {
    // The origin only: a path may carry a token pasted in by mistake.
    return `apiUrl must not have a query or fragment: ${url.origin}`;
  }
  return undefined;
}

/**
 * The check failures of the credential inputs, when they are given and known: `apiUrl` must be a
 * plain `http(s)` URL, `apiToken` a non-empty string.
 *
 * @example
 * credentialFailures('ftp://x', '') // [{ property: 'apiUrl', ... }, { property: 'apiToken', ... }]
 */
export function credentialFailures(
  apiUrl: unknown,
  apiToken: unknown,
): { property: string; reason: string }[] {
  const failures: { property: string; reason: string }[] = [];

  if (apiUrl !== undefined && apiUrl !== null && !lib.isUnknown(apiUrl)) {
    const reason = typeof apiUrl === 'string' ? apiUrlFailure(apiUrl) : 'apiUrl must be a string.';
    if (reason !== undefined) {
      failures.push({ property: 'apiUrl', reason });
    }
  }
  if (apiToken !== undefined && apiToken !== null && !lib.isUnknown(apiToken)) {
    if (typeof apiToken !== 'string' || apiToken.trim() === '') {
      failures.push({ property: 'apiToken', reason: 'apiToken must be a non-empty string.' });
    }
  }
  return failures;
}
