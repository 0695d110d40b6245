// `NumonicDomain`: a sending domain registered with the Numonic API, as a Pulumi dynamic resource.
//
// The platform facts this file obeys:
// - `domainProvider` is serialized into the resource's `__provider` input, stored in state in
//   plaintext, and run by the engine in another process (`@pulumi/pulumi/cmd/dynamic-provider`),
//   from whatever working directory `pulumi` has. Refresh and destroy run the text stored with the
//   resource's last create or update, not this file, so every method accepts state written by
//   earlier versions, and a new version is no change at all (`diff` ignores `__provider`).
// - Nothing at module level reads the environment or holds a credential: it would be frozen into
//   that text. Credentials are resolved inside each method, at call time.
// - The serializer captures functions and classes by value, but a module object (what a compiled
//   `import` refers to) by reference, as `require('<path>')`. Once this package is installed under
//   node_modules that path is `@numonic/domains/dist/provider/...`, which the package's `exports`
//   map refuses, and it would resolve from the program's working directory anyway. So the methods
//   reach other modules only through `lib`, a plain object of the functions themselves, and the
//   provider's text needs nothing but node built-ins and the global `fetch`.
// - The engine keeps only `changes`, `replaces` and `deleteBeforeReplace` from `diff`; without
//   `update` an update would wipe the outputs; `read` without an id means the resource is gone.
// - A secret cannot be returned inside `outs`; the token is kept secret in state by
//   `additionalSecretOutputs`.

import * as pulumi from '@pulumi/pulumi';

import { normalizeDomainName } from '../service/domains/domain-name';
import { numonicApiError, requestJson, type ApiTarget } from './api-client';
import {
  credentialFailures,
  readStackCredentials,
  resolveCredentials,
  type StackCredentials,
} from './credentials';
import { recordOutputs, type ApiDomain, type NumonicDnsRecord } from './dns-records';
import { compact, errorCode, isUnknown, plainValue, sameValue } from './properties';

// Everything the provider calls in other modules (see the note at the top).
const lib = {
  compact,
  credentialFailures,
  errorCode,
  isUnknown,
  normalizeDomainName,
  numonicApiError,
  plainValue,
  readStackCredentials,
  recordOutputs,
  requestJson,
  resolveCredentials,
  sameValue,
};

/**
 * How long a create waits for the service's answer. The service retries SES with backoff before
 * it answers (by default up to 4 attempts of 5 s for each of its SES calls), so a registration can
 * take over a minute to end in 503. A create that gave up sooner, while the service went on to
 * register the domain, would fail with the domain registered, and the next `pulumi up` would meet
 * CONFLICT (recoverable with `adopt: true`).
 */
const CREATE_TIMEOUT_MS = 120_000;

/**
 * The inputs of a {@link NumonicDomain}.
 *
 * @example
 * const args: NumonicDomainArgs = { domainName: 'yourapp.com', adopt: true };
 */
export interface NumonicDomainArgs {
  /**
   * The domain to register, e.g. `yourapp.com`. It is normalized as the service does (trimmed,
   * one trailing dot dropped, IDNA to ASCII, lowercase); a change of the normalized name replaces
   * the resource.
   */
  domainName: pulumi.Input<string>;
  /**
   * The API's base URL, e.g. `https://api.numonic.com`. Defaults to the stack configuration
   * `numonic:apiUrl`, then the environment variable `NUMONIC_API_URL`.
   */
  apiUrl?: pulumi.Input<string>;
  /**
   * The API token (a JWT). Stored in state as a secret; changing it updates the resource in
   * place. Defaults to the stack configuration `numonic:apiToken` (recommended: it never enters
   * the resource's state, so rotating it needs no update), then `NUMONIC_API_TOKEN`.
   */
  apiToken?: pulumi.Input<string>;
  /**
   * When the domain is already registered to the same tenant, take it over instead of failing
   * with `CONFLICT`. This is the way to bring an existing domain under Pulumi: `pulumi import`
   * cannot work for a dynamic resource. Destroying the resource then deletes the domain.
   */
  adopt?: pulumi.Input<boolean>;
}

interface DomainInputs {
  domainName?: unknown;
  apiUrl?: unknown;
  apiToken?: unknown;
  adopt?: unknown;
}

class DomainProvider implements pulumi.dynamic.ResourceProvider {
  private stack: StackCredentials = {};

  async configure(req: pulumi.dynamic.ConfigureRequest): Promise<void> {
    this.stack = lib.readStackCredentials(req);
  }

  async check(_olds: DomainInputs, news: DomainInputs): Promise<pulumi.dynamic.CheckResult> {
    const failures: pulumi.dynamic.CheckFailure[] = [];
    const domainName = lib.plainValue(news.domainName);
    const apiUrl = lib.plainValue(news.apiUrl);
    const apiToken = lib.plainValue(news.apiToken);
    const adopt = lib.plainValue(news.adopt);

    let checkedName = domainName;
    if (domainName === undefined || domainName === null || domainName === '') {
      const reason = 'domainName is required, e.g. yourapp.com.';
      failures.push({ property: 'domainName', reason });
    } else if (!lib.isUnknown(domainName)) {
      const result = lib.normalizeDomainName(domainName);
      if (result.ok) {
        checkedName = result.name;
      } else {
        failures.push({ property: 'domainName', reason: inputWording(result.message) });
      }
    }
    failures.push(...lib.credentialFailures(apiUrl, apiToken));
    const adoptGiven = adopt !== undefined && adopt !== null && !lib.isUnknown(adopt);
    if (adoptGiven && typeof adopt !== 'boolean') {
      failures.push({ property: 'adopt', reason: 'adopt must be true or false.' });
    }

    const inputs = lib.compact({
      domainName: checkedName,
      apiUrl,
      apiToken,
      adopt: adopt ?? undefined,
    });
    return { inputs, failures };
  }

  // `deleteBeforeReplace` stays false. Two names that differ only in case or a trailing dot
  // normalize to the same name, so they are no change at all; any replacement this diff asks for
  // is therefore a real rename, and the service's CONFLICT rule (one registration per normalized
  // name) cannot refuse the new name while the old one exists. Creating first keeps the old
  // domain, and the mail it sends, working until its replacement is registered.
  //
  // The engine can still create the same name before deleting it without asking this diff:
  // `pulumi up --replace`, `replaceOnChanges`, or a new logical name without an alias. The create
  // then meets CONFLICT; with `adopt` it takes the domain over, and `delete` leaves a domain taken
  // over that way alone (see `claimedIds`) instead of deleting what the new resource now holds.
  async diff(
    _id: string,
    olds: DomainInputs,
    news: DomainInputs,
  ): Promise<pulumi.dynamic.DiffResult> {
    const newName = lib.plainValue(news.domainName);
    const renamed =
      lib.isUnknown(newName) || comparableName(olds.domainName) !== comparableName(newName);
    const updated = ['apiUrl', 'apiToken', 'adopt'].filter(
      (key) => !lib.sameValue(olds[key as keyof DomainInputs], news[key as keyof DomainInputs]),
    );

    return {
      changes: renamed || updated.length > 0,
      replaces: renamed ? ['domainName'] : [],
      deleteBeforeReplace: false,
    };
  }

  async create(inputs: DomainInputs): Promise<pulumi.dynamic.CreateResult> {
    const target = lib.resolveCredentials(inputs, this.stack);
    const domainName = requireDomainName(inputs.domainName);

    let domain: ApiDomain;
    let created = false;
    try {
      domain = await lib.requestJson<ApiDomain>(target, 'POST', '/api/v1/domains', {
        body: { domain_name: domainName },
        timeoutMs: CREATE_TIMEOUT_MS,
      });
      created = true;
    } catch (error) {
      if (lib.errorCode(error) !== 'CONFLICT') {
        throw error;
      }
      domain = await takeOver(target, domainName, lib.plainValue(inputs.adopt) === true, error);
      claimedIds().add(String(domain.domain_id));
    }

    // The seed's `POST` answer carries no status fields; fetch them rather than guess. If that
    // fails, the domain this call registered is deleted again, so a failed create leaves nothing.
    if (!isComplete(domain)) {
      try {
        domain = await lib.requestJson<ApiDomain>(target, 'GET', domainPath(domain.domain_id));
      } catch (error) {
        if (created) {
          await lib.requestJson(target, 'DELETE', domainPath(domain.domain_id)).catch(() => {});
        }
        throw error;
      }
    }

    return { id: String(domain.domain_id), outs: stateOf(domain, inputs) };
  }

  async read(id: string, props: DomainInputs): Promise<pulumi.dynamic.ReadResult> {
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

    const state = stateOf(domain, props);
    const inputs = lib.compact({
      domainName: state.domainName,
      apiUrl: state.apiUrl,
      apiToken: state.apiToken,
      adopt: state.adopt,
    });
    return { id: String(domain.domain_id), props: state, inputs };
  }

  async update(
    id: string,
    _olds: DomainInputs,
    news: DomainInputs,
  ): Promise<pulumi.dynamic.UpdateResult> {
    const target = lib.resolveCredentials(news, this.stack);

    let domain: ApiDomain;
    try {
      domain = await lib.requestJson<ApiDomain>(target, 'GET', domainPath(id));
    } catch (error) {
      if (lib.errorCode(error) === 'NOT_FOUND') {
        throw lib.numonicApiError(
          'NOT_FOUND',
          `Domain ${id} was not found with these credentials: either it no longer exists in ` +
            'Numonic (run `pulumi refresh` to drop it from the stack; `pulumi up` then registers ' +
            'it again) or the token belongs to another tenant.',
          404,
        );
      }
      throw error;
    }

    return { outs: stateOf(domain, news) };
  }

  async delete(id: string, props: DomainInputs): Promise<void> {
    // A create in this run adopted this very domain for another resource (a replacement of the
    // same name, or the same domain under a new logical name): the domain is that resource's now.
    if (claimedIds().delete(id)) {
      return;
    }

    const target = lib.resolveCredentials(props, this.stack);

    try {
      await lib.requestJson(target, 'DELETE', domainPath(id));
    } catch (error) {
      if (lib.errorCode(error) !== 'NOT_FOUND') {
        throw error;
      }
    }
  }
}

/** The one provider instance: Pulumi serializes it once and reuses the text for every domain. */
const domainProvider = new DomainProvider();

/**
 * The ids of the domains that a create adopted in this provider process, each waiting for the
 * delete of the resource that held it before. The engine runs one provider process per deployment,
 * and each provider text loaded into it gets its own `DomainProvider`, so the set lives on
 * `globalThis`, shared by every text of this version and later ones in the process.
 *
 * A delete that runs in a later deployment (a `pulumi up` stopped between the create and the
 * delete, whose pending delete the next run finishes) finds the set empty and deletes the domain
 * the new resource holds; `pulumi refresh` then reports that resource gone, and the next
 * `pulumi up` registers the domain again.
 */
function claimedIds(): Set<string> {
  const key = Symbol.for('@numonic/domains:adopted-domain-ids');
  const holder = globalThis as unknown as Record<symbol, Set<string> | undefined>;
  holder[key] ??= new Set<string>();
  return holder[key];
}

/** A `CONFLICT` answered to `POST`: adopt the tenant's own domain, or explain, or rethrow. */
async function takeOver(
  target: ApiTarget,
  domainName: string,
  adopt: boolean,
  conflict: unknown,
): Promise<ApiDomain> {
  let owned: ApiDomain | undefined;
  try {
    const domains = await lib.requestJson<ApiDomain[]>(target, 'GET', '/api/v1/domains');
    owned = domains.find((domain) => domain.domain_name === domainName);
  } catch {
    throw conflict;
  }

  // Not in this tenant's list: another tenant holds it, and only the service's message applies.
  if (owned === undefined) {
    throw conflict;
  }
  if (!adopt) {
    throw lib.numonicApiError(
      'CONFLICT',
      `${(conflict as Error).message} It is registered to this tenant as domain ` +
        `${owned.domain_id}: set \`adopt: true\` on the resource to manage it with Pulumi.`,
      409,
    );
  }
  return lib.requestJson<ApiDomain>(target, 'GET', domainPath(owned.domain_id));
}

function stateOf(domain: ApiDomain, inputs: DomainInputs) {
  const adopt = lib.plainValue(inputs.adopt);
  return lib.compact({
    domainId: domain.domain_id,
    tenantId: domain.tenant_id,
    domainName: domain.domain_name,
    identityArn: domain.identity_arn,
    verificationStatus: domain.verification_status,
    configurationSetName: domain.configuration_set_name,
    ...lib.recordOutputs(domain),
    apiUrl: lib.plainValue(inputs.apiUrl),
    apiToken: lib.plainValue(inputs.apiToken),
    adopt: typeof adopt === 'boolean' ? adopt : undefined,
  });
}

function isComplete(domain: ApiDomain): boolean {
  return (
    typeof domain.verification_status === 'string' &&
    typeof domain.configuration_set_name === 'string' &&
    Array.isArray(domain.dns_records)
  );
}

function domainPath(id: string | number): string {
  return `/api/v1/domains/${encodeURIComponent(String(id))}`;
}

function requireDomainName(value: unknown): string {
  const result = lib.normalizeDomainName(lib.plainValue(value));
  if (!result.ok) {
    throw lib.numonicApiError('VALIDATION_ERROR', inputWording(result.message));
  }
  return result.name;
}

/** The normalized name when there is one, else the value as it is, for comparison only. */
function comparableName(value: unknown): unknown {
  const plain = lib.plainValue(value);
  const result = lib.normalizeDomainName(plain);
  return result.ok ? result.name : plain;
}

/** The shared rules speak of the wire field `domain_name`; the resource's input is `domainName`. */
function inputWording(message: string): string {
  return message.replace(/^domain_name\b/, 'domainName');
}

/**
 * A sending domain registered with Numonic (and so with AWS SES), with the DNS records that prove
 * ownership and enable DKIM signing as typed outputs.
 *
 * `pulumi refresh` notices a domain deleted outside Pulumi; `pulumi destroy` deletes it. A new
 * `domainName` replaces the resource (the new domain is registered before the old one is deleted);
 * a new `apiUrl`, `apiToken` or `adopt` is an in-place update.
 *
 * @example
 * import * as aws from '@pulumi/aws';
 * import { NumonicDomain } from '@numonic/domains';
 *
 * const domain = new NumonicDomain('mail', { domainName: 'yourapp.com' });
 * const zone = aws.route53.getZoneOutput({ name: 'yourapp.com' });
 * new aws.route53.Record('mail-verification', {
 *   zoneId: zone.zoneId,
 *   type: domain.verificationRecord.type,
 *   name: domain.verificationRecord.name,
 *   records: [domain.verificationRecord.value],
 *   ttl: 600,
 * });
 * for (let i = 0; i < 3; i++) {
 *   new aws.route53.Record(`mail-dkim-${i}`, {
 *     zoneId: zone.zoneId,
 *     type: 'CNAME',
 *     name: domain.dkimRecords[i].name,
 *     records: [domain.dkimRecords[i].value],
 *     ttl: 600,
 *   });
 * }
 */
export class NumonicDomain extends pulumi.dynamic.Resource {
  // `declare` emits no field: with an ES2022 target a plain field declaration is initialized to
  // undefined after `super()` returns, replacing the Output the base constructor set.

  /** The service's `domain_id`; the resource's id is its string form. */
  declare public readonly domainId: pulumi.Output<number>;
  /** The tenant the domain belongs to: the token's `tenant_id` claim. */
  declare public readonly tenantId: pulumi.Output<string>;
  /** The normalized name the service stores, e.g. `xn--bcher-kva.example.com`. */
  declare public readonly domainName: pulumi.Output<string>;
  /** The SES identity's ARN. */
  declare public readonly identityArn: pulumi.Output<string>;
  /** `Pending`, `Success` or `Failed`, as of the last create, update or refresh. */
  declare public readonly verificationStatus: pulumi.Output<string>;
  /** The SES configuration set the domain sends through. */
  declare public readonly configurationSetName: pulumi.Output<string>;
  /** Every record to create at the DNS host, in the service's order. */
  declare public readonly dnsRecords: pulumi.Output<NumonicDnsRecord[]>;
  /** The `TXT _amazonses.<domain>` record that proves ownership. */
  declare public readonly verificationRecord: pulumi.Output<NumonicDnsRecord>;
  /** The three DKIM `CNAME` records, in the service's order. */
  declare public readonly dkimRecords: pulumi.Output<NumonicDnsRecord[]>;

  /**
   * Registers `args.domainName` with Numonic, or adopts it when `args.adopt` is set and this
   * tenant already holds it.
   *
   * @example
   * const domain = new NumonicDomain('mail', { domainName: 'yourapp.com' });
   * export const records = domain.dnsRecords;
   */
  constructor(name: string, args: NumonicDomainArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      domainProvider,
      name,
      {
        domainName: args.domainName,
        apiUrl: args.apiUrl,
        apiToken: args.apiToken === undefined ? undefined : pulumi.secret(args.apiToken),
        adopt: args.adopt,
        domainId: undefined,
        tenantId: undefined,
        identityArn: undefined,
        verificationStatus: undefined,
        configurationSetName: undefined,
        dnsRecords: undefined,
        verificationRecord: undefined,
        dkimRecords: undefined,
      },
      pulumi.mergeOptions(opts, { additionalSecretOutputs: ['apiToken'] }),
      'numonic',
      'NumonicDomain',
    );
  }
}
