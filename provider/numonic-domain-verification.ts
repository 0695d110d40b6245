// `NumonicDomainVerification`: waits until a Numonic domain is verified, as a Pulumi dynamic
// resource, so that resources which send mail can depend on it.
//
// The platform facts this file obeys are those of `numonic-domain.ts`: `verificationProvider` is
// serialized into state and run by the engine in another process, from any working directory,
// and refresh runs the text stored in state; credentials are resolved at call time, never at
// module level; the methods reach other modules only through `lib`, a plain object of the
// functions themselves, because the serializer would capture an imported module by reference;
// the token is kept secret in state by `additionalSecretOutputs`.

import * as pulumi from '@pulumi/pulumi';

import { isNumonicApiError, numonicApiError, requestJson, type ApiTarget } from './api-client';
import {
  credentialFailures,
  readStackCredentials,
  resolveCredentials,
  type StackCredentials,
} from './credentials';
import { missingRecordLines, type ApiDomain } from './dns-records';
import { compact, errorCode, isUnknown, plainValue, sameValue } from './properties';

// Everything the provider calls in other modules (see the note at the top).
const lib = {
  compact,
  credentialFailures,
  errorCode,
  isNumonicApiError,
  isUnknown,
  missingRecordLines,
  numonicApiError,
  plainValue,
  readStackCredentials,
  requestJson,
  resolveCredentials,
  sameValue,
};

/**
 * The inputs of a {@link NumonicDomainVerification}.
 *
 * @example
 * const args: NumonicDomainVerificationArgs = { domainId: domain.domainId, timeoutSeconds: 1800 };
 */
export interface NumonicDomainVerificationArgs {
  /** The domain to wait for: a `NumonicDomain`'s `domainId` (or its resource id). */
  domainId: pulumi.Input<number | string>;
  /** The API's base URL; defaults as for `NumonicDomain`. */
  apiUrl?: pulumi.Input<string>;
  /** The API token (a JWT), stored as a secret; defaults as for `NumonicDomain`. */
  apiToken?: pulumi.Input<string>;
  /** How long to wait for `Success`, in seconds. Default 900. */
  timeoutSeconds?: pulumi.Input<number>;
  /** How long to wait between two status checks, in seconds. Default 10. */
  pollIntervalSeconds?: pulumi.Input<number>;
}

interface VerificationInputs {
  domainId?: unknown;
  apiUrl?: unknown;
  apiToken?: unknown;
  timeoutSeconds?: unknown;
  pollIntervalSeconds?: unknown;
  domainName?: unknown;
  verificationStatus?: unknown;
  verifiedAt?: unknown;
}

class VerificationProvider implements pulumi.dynamic.ResourceProvider {
  private stack: StackCredentials = {};

  async configure(req: pulumi.dynamic.ConfigureRequest): Promise<void> {
    this.stack = lib.readStackCredentials(req);
  }

  async check(
    _olds: VerificationInputs,
    news: VerificationInputs,
  ): Promise<pulumi.dynamic.CheckResult> {
    const failures: pulumi.dynamic.CheckFailure[] = [];
    const apiUrl = lib.plainValue(news.apiUrl);
    const apiToken = lib.plainValue(news.apiToken);

    let domainId = lib.plainValue(news.domainId);
    if (!lib.isUnknown(domainId)) {
      const id = domainIdOf(domainId);
      if (id === undefined) {
        failures.push({ property: 'domainId', reason: 'domainId must be a positive integer.' });
      } else {
        domainId = id;
      }
    }
    const seconds = (property: 'timeoutSeconds' | 'pollIntervalSeconds') => {
      const value = lib.plainValue(news[property]);
      const valid = typeof value === 'number' && Number.isFinite(value) && value > 0;
      if (value !== undefined && value !== null && !valid && !lib.isUnknown(value)) {
        failures.push({ property, reason: `${property} must be a positive number of seconds.` });
      }
      return value ?? undefined;
    };
    const timeoutSeconds = seconds('timeoutSeconds');
    const pollIntervalSeconds = seconds('pollIntervalSeconds');
    failures.push(...lib.credentialFailures(apiUrl, apiToken));

    const inputs = lib.compact({ domainId, apiUrl, apiToken, timeoutSeconds, pollIntervalSeconds });
    return { inputs, failures };
  }

  // Nothing remote is created, so a replacement only waits again: the order does not matter.
  async diff(
    _id: string,
    olds: VerificationInputs,
    news: VerificationInputs,
  ): Promise<pulumi.dynamic.DiffResult> {
    const newId = lib.plainValue(news.domainId);
    const replaced =
      lib.isUnknown(newId) || domainIdOf(lib.plainValue(olds.domainId)) !== domainIdOf(newId);
    const keys = ['apiUrl', 'apiToken', 'timeoutSeconds', 'pollIntervalSeconds'] as const;
    const updated = keys.filter((key) => !lib.sameValue(olds[key], news[key]));

    return {
      changes: replaced || updated.length > 0,
      replaces: replaced ? ['domainId'] : [],
      deleteBeforeReplace: false,
    };
  }

  async create(inputs: VerificationInputs): Promise<pulumi.dynamic.CreateResult> {
    const target = lib.resolveCredentials(inputs, this.stack);
    const domainId = domainIdOf(lib.plainValue(inputs.domainId));
    if (domainId === undefined) {
      throw lib.numonicApiError('VALIDATION_ERROR', 'domainId must be a positive integer.');
    }
    const timeoutSeconds = secondsOf(inputs.timeoutSeconds, 900);
    const intervalMs = secondsOf(inputs.pollIntervalSeconds, 10) * 1000;
    const deadline = Date.now() + timeoutSeconds * 1000;

    const domain = await waitForSuccess(target, domainId, deadline, intervalMs, timeoutSeconds);

    const verifiedAt = typeof domain.verified_at === 'string' ? domain.verified_at : undefined;
    const outs = stateOf(domain, inputs, verifiedAt ?? new Date().toISOString());
    return { id: String(domainId), outs };
  }

  // A domain that is no longer verified (or no longer exists) reads as gone, so that the next
  // `pulumi up` waits for it again; `aws.ses.DomainIdentityVerification` behaves the same way.
  async read(id: string, props: VerificationInputs): Promise<pulumi.dynamic.ReadResult> {
    const target = lib.resolveCredentials(props, this.stack);

    let domain: ApiDomain;
    try {
      domain = await lib.requestJson<ApiDomain>(target, 'GET', domainPath(id));
    } catch (error) {
      if (lib.errorCode(error) === 'NOT_FOUND') {
        return {};
      }
      throw error;
    }
    if (domain.verification_status !== 'Success') {
      return {};
    }

    const verifiedAt = typeof props.verifiedAt === 'string' ? props.verifiedAt : undefined;
    const state = stateOf(domain, props, verifiedAt ?? domain.verified_at ?? undefined);
    const inputs = lib.compact({
      domainId: state.domainId,
      apiUrl: state.apiUrl,
      apiToken: state.apiToken,
      timeoutSeconds: state.timeoutSeconds,
      pollIntervalSeconds: state.pollIntervalSeconds,
    });
    return { id: String(domain.domain_id), props: state, inputs };
  }

  async update(
    _id: string,
    olds: VerificationInputs,
    news: VerificationInputs,
  ): Promise<pulumi.dynamic.UpdateResult> {
    const outs = lib.compact({
      domainId: domainIdOf(lib.plainValue(olds.domainId)),
      domainName: olds.domainName,
      verificationStatus: olds.verificationStatus,
      verifiedAt: olds.verifiedAt,
      apiUrl: lib.plainValue(news.apiUrl),
      apiToken: lib.plainValue(news.apiToken),
      timeoutSeconds: lib.plainValue(news.timeoutSeconds),
      pollIntervalSeconds: lib.plainValue(news.pollIntervalSeconds),
    });
    return { outs };
  }

  // Verification is a fact about the domain, not an object of its own: nothing to delete.
  async delete(): Promise<void> {}
}

/** The one provider instance: Pulumi serializes it once and reuses the text for every resource. */
const verificationProvider = new VerificationProvider();

/**
 * Polls the domain until it is verified. A verify-now request goes first and then at most every
 * 30 s (the service allows 10 a minute per domain); a service without that endpoint answers 404
 * and is then only polled, and a 429 only skips one round.
 */
async function waitForSuccess(
  target: ApiTarget,
  domainId: number,
  deadline: number,
  intervalMs: number,
  timeoutSeconds: number,
): Promise<ApiDomain> {
  let verifyNow = true;
  let lastVerify = 0;

  for (;;) {
    if (verifyNow && Date.now() - lastVerify >= 30_000) {
      lastVerify = Date.now();
      verifyNow = await requestVerification(target, domainId);
    }

    const domain = await lib.requestJson<ApiDomain>(target, 'GET', domainPath(domainId));
    if (domain.verification_status === 'Success') {
      return domain;
    }
    if (domain.verification_status === 'Failed') {
      throw notVerified(domain, 'VERIFICATION_FAILED', 'failed verification');
    }

    const remaining = deadline - Date.now();
    if (remaining <= 0) {
      const waited = `is not verified after ${timeoutSeconds} s`;
      throw notVerified(domain, 'VERIFICATION_TIMEOUT', waited);
    }
    await new Promise((resolve) => setTimeout(resolve, Math.min(intervalMs, remaining)));
  }
}

/** Asks the service to check DNS now; false when it has no such endpoint. */
async function requestVerification(target: ApiTarget, domainId: number): Promise<boolean> {
  try {
    await lib.requestJson(target, 'POST', `${domainPath(domainId)}/verify`, { maxAttempts: 1 });
    return true;
  } catch (error) {
    if (!lib.isNumonicApiError(error) || error.code === 'UNAUTHORIZED') {
      throw error;
    }
    return !(error.code === 'NOT_FOUND' || error.status === 405 || error.status === 501);
  }
}

function notVerified(
  domain: ApiDomain,
  code: 'VERIFICATION_FAILED' | 'VERIFICATION_TIMEOUT',
  what: string,
) {
  const lines = lib.missingRecordLines(domain);
  const records =
    lines.length > 0
      ? ` Records still missing at the DNS host:\n${lines.map((line) => `  ${line}`).join('\n')}`
      : code === 'VERIFICATION_FAILED'
        ? ' DNS shows every record, yet SES refused the verification; check the identity in SES.'
        : ' DNS shows every record; SES has not confirmed them yet.';
  const status = domain.verification_status ?? 'unknown';
  const message = `Domain ${domain.domain_id} (${domain.domain_name}) ${what} (status ${status}).`;
  return lib.numonicApiError(code, `${message}${records}`);
}

function stateOf(domain: ApiDomain, inputs: VerificationInputs, verifiedAt: string | undefined) {
  return lib.compact({
    domainId: domain.domain_id,
    domainName: domain.domain_name,
    verificationStatus: domain.verification_status,
    verifiedAt,
    apiUrl: lib.plainValue(inputs.apiUrl),
    apiToken: lib.plainValue(inputs.apiToken),
    timeoutSeconds: lib.plainValue(inputs.timeoutSeconds),
    pollIntervalSeconds: lib.plainValue(inputs.pollIntervalSeconds),
  });
}

function domainIdOf(value: unknown): number | undefined {
  const id = typeof value === 'string' && /^[1-9][0-9]*$/.test(value) ? Number(value) : value;
  return typeof id === 'number' && Number.isSafeInteger(id) && id > 0 ? id : undefined;
}

function secondsOf(value: unknown, fallback: number): number {
  const seconds = lib.plainValue(value);
  return typeof seconds === 'number' && Number.isFinite(seconds) && seconds > 0
    ? seconds
    : fallback;
}

function domainPath(id: string | number): string {
  return `/api/v1/domains/${encodeURIComponent(String(id))}`;
}

/**
 * Waits until a Numonic domain is verified: its DNS records found and SES confirming the
 * identity. Make it depend on the DNS records, and make what sends mail depend on it.
 *
 * On `Failed`, or when `timeoutSeconds` pass, `pulumi up` fails with a message naming each record
 * still missing (type, name, expected value, and what DNS answered when the service checked).
 * `pulumi refresh` drops it from the stack when the domain is no longer verified, so the next
 * `pulumi up` waits again. Destroying it deletes nothing.
 *
 * @example
 * import * as aws from '@pulumi/aws';
 * import { NumonicDomain, NumonicDomainVerification } from '@numonic/domains';
 *
 * const zoneId = aws.route53.getZoneOutput({ name: 'yourapp.com' }).zoneId;
 * const domain = new NumonicDomain('mail', { domainName: 'yourapp.com' });
 * const records = [domain.verificationRecord, ...[0, 1, 2].map((i) => domain.dkimRecords[i])].map(
 *   (record, i) =>
 *     new aws.route53.Record(`mail-${i}`, {
 *       zoneId,
 *       type: record.type,
 *       name: record.name,
 *       records: [record.value],
 *       ttl: 600,
 *     }),
 * );
 * const verified = new NumonicDomainVerification(
 *   'mail-verified',
 *   { domainId: domain.domainId, timeoutSeconds: 1800 },
 *   { dependsOn: records },
 * );
 * export const verifiedAt = verified.verifiedAt;
 */
export class NumonicDomainVerification extends pulumi.dynamic.Resource {
  // `declare` emits no field, which would replace the base constructor's Outputs with undefined.

  /** The verified domain's `domain_id`. */
  declare public readonly domainId: pulumi.Output<number>;
  /** The verified domain's normalized name. */
  declare public readonly domainName: pulumi.Output<string>;
  /** `Success` once created. */
  declare public readonly verificationStatus: pulumi.Output<string>;
  /** When the domain was verified (ISO 8601): the service's time when it reports one. */
  declare public readonly verifiedAt: pulumi.Output<string>;

  /**
   * Waits for `args.domainId` to be verified, up to `args.timeoutSeconds`.
   *
   * @example
   * new NumonicDomainVerification('mail-verified', { domainId: domain.domainId });
   */
  constructor(
    name: string,
    args: NumonicDomainVerificationArgs,
    opts?: pulumi.CustomResourceOptions,
  ) {
    super(
      verificationProvider,
      name,
      {
        domainId: args.domainId,
        apiUrl: args.apiUrl,
        apiToken: args.apiToken === undefined ? undefined : pulumi.secret(args.apiToken),
        timeoutSeconds: args.timeoutSeconds,
        pollIntervalSeconds: args.pollIntervalSeconds,
        domainName: undefined,
        verificationStatus: undefined,
        verifiedAt: undefined,
      },
      pulumi.mergeOptions(opts, { additionalSecretOutputs: ['apiToken'] }),
      'numonic',
      'NumonicDomainVerification',
    );
  }
}
