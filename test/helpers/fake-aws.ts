import { randomBytes, randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

// One loopback HTTP server that speaks, for the few operations the service uses, the wire
// protocols of the real services, so the real AWS SDK talks to it unchanged:
// - SES v2 is REST-JSON: the operation is the method and path, errors carry `x-amzn-ErrorType`
//   and a JSON body with `message`.
// - SES v1 and STS use the query protocol: a form-encoded POST with `Action`, XML answers wrapped
//   in `<{Action}Response><{Action}Result>`, and errors as `<ErrorResponse><Error>`.
// Signatures are not checked, only required, so a request the SDK forgot to sign still fails.

/** The operations the fake serves; faults and call counts are kept per operation. */
export type FakeAwsOperation =
  | 'CreateEmailIdentity'
  | 'GetEmailIdentity'
  | 'DeleteEmailIdentity'
  | 'GetConfigurationSet'
  | 'CreateConfigurationSet'
  | 'VerifyDomainIdentity'
  | 'GetCallerIdentity';

/**
 * One injected failure, used by the next call of its operation:
 * - `throttle`: SES v2 answers 429 `TooManyRequestsException`; SES v1 and STS 400 `Throttling`.
 * - `status`: a 5xx with the service's error for it (`InternalFailure`, `ServiceUnavailable`...).
 * - `delayMs`: the request is held that long before the fake looks at it, and is dropped unseen
 *   when the client hung up meanwhile. With `applied: true` it is carried out at once and only
 *   the answer is held: SES did the work, the client never heard. With `applied: 'late'` it is
 *   carried out when the delay ends even if the client hung up meanwhile: SES was slow, then did
 *   the work anyway.
 * - `alreadyExists`, `notFound`: the service's `AlreadyExistsException` / `NotFoundException`.
 * - `error`: any other error, e.g. `{ status: 403, code: 'InvalidClientTokenId' }`.
 */
export type FakeFault =
  | { throttle: true }
  | { status: number }
  | { delayMs: number; applied?: boolean | 'late' }
  | { alreadyExists: true }
  | { notFound: true }
  | { error: { status: number; code: string; message?: string } };

/** SES's identity status values, as `GetEmailIdentity` reports them. */
export type FakeVerificationStatus =
  'PENDING' | 'SUCCESS' | 'FAILED' | 'TEMPORARY_FAILURE' | 'NOT_STARTED';

/** One domain identity as the fake SES holds it. */
export interface FakeIdentity {
  name: string;
  dkimTokens: string[];
  signingHostedZone: string;
  /** The `_amazonses` TXT value that `VerifyDomainIdentity` hands out. */
  verificationToken: string;
  verificationStatus: FakeVerificationStatus;
  dkimStatus: string;
  configurationSetName: string | undefined;
  tags: { Key: string; Value: string }[];
  /** What `GetEmailIdentity` reports as `VerificationInfo`; timestamps in epoch seconds. */
  verificationInfo?: {
    ErrorType?: string;
    LastCheckedTimestamp?: number;
    LastSuccessTimestamp?: number;
  };
}

/** A running fake of SES v2, SES v1 and STS; see `startFakeAws`. */
export interface FakeAws {
  /** `http://127.0.0.1:<port>`, the endpoint of all three services. */
  url: string;
  /**
   * The environment that points the AWS SDK here, with dummy credentials and `region`. The SDK
   * reads `process.env` itself: apply it with `useEnv()`.
   */
  env: Record<string, string>;
  /** Identities by domain name. Tests may read and change it directly. */
  identities: Map<string, FakeIdentity>;
  configurationSets: Set<string>;
  /** Calls received per operation, faulted and dropped ones included. */
  calls: Record<FakeAwsOperation, number>;
  /** The zone `CreateEmailIdentity` reports; set it to test a regional one. */
  signingHostedZone: string;
  /** What STS `GetCallerIdentity` answers. */
  caller: { partition: string; account: string };
  /** Queues faults for the next calls of `operation`, one call each, in order. */
  inject(operation: FakeAwsOperation, ...faults: FakeFault[]): void;
  /** Faults still queued for `operation` (those not yet consumed by a call). */
  pendingFaults(operation: FakeAwsOperation): number;
  /** Runs `listener` on every call of `operation`, before the call is looked at. */
  onCall(operation: FakeAwsOperation, listener: () => void): void;
  /** An identity created outside the service, e.g. by another team in the same account. */
  addIdentity(name: string, tags?: { Key: string; Value: string }[]): FakeIdentity;
  setVerificationStatus(name: string, status: FakeVerificationStatus, dkimStatus?: string): void;
  /** Applies `env` to `process.env`; the returned function puts the previous values back. */
  useEnv(): () => void;
  /** Closes the server, dropping held requests without carrying them out. */
  close(): Promise<void>;
}

/** How `startFakeAws` sets the fake up; every field has a default. */
export interface FakeAwsOptions {
  /** `AWS_REGION` given to the SDK; default `us-east-1`. */
  region?: string;
  signingHostedZone?: string;
  partition?: string;
  account?: string;
  /** Configuration sets that exist from the start. */
  configurationSets?: string[];
}

const OPERATIONS: FakeAwsOperation[] = [
  'CreateEmailIdentity',
  'GetEmailIdentity',
  'DeleteEmailIdentity',
  'GetConfigurationSet',
  'CreateConfigurationSet',
  'VerifyDomainIdentity',
  'GetCallerIdentity',
];

const QUERY_NAMESPACES: Record<string, string> = {
  VerifyDomainIdentity: 'http://ses.amazonaws.com/doc/2010-12-01/',
  GetCallerIdentity: 'https://sts.amazonaws.com/doc/2011-06-15/',
};

/** Variables of the SDK's chain that must not leak from the machine into a test. */
const CLEARED_ENV = [
  'AWS_PROFILE',
  'AWS_SESSION_TOKEN',
  'AWS_DEFAULT_REGION',
  'AWS_ENDPOINT_URL',
  'AWS_IGNORE_CONFIGURED_ENDPOINT_URLS',
  'AWS_WEB_IDENTITY_TOKEN_FILE',
  'AWS_ROLE_ARN',
  'AWS_CONTAINER_CREDENTIALS_RELATIVE_URI',
  'AWS_CONTAINER_CREDENTIALS_FULL_URI',
];

interface Answer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

interface Call {
  operation: FakeAwsOperation;
  /** The domain or configuration set named in the path or the form. */
  resource: string | undefined;
  input: Record<string, unknown>;
  protocol: 'rest-json' | 'query';
}

/**
 * Starts the fake on an ephemeral loopback port.
 *
 * @example
 * const aws = await startFakeAws({ signingHostedZone: 'dkim.eu-central-2.amazonses.com' });
 * const restoreEnv = aws.useEnv();
 * aws.inject('CreateEmailIdentity', { throttle: true }, { throttle: true });
 * // ... exercise the code under test with the real SDK ...
 * assert.equal(aws.calls.CreateEmailIdentity, 3);
 * restoreEnv();
 * await aws.close();
 */
export async function startFakeAws(options: FakeAwsOptions = {}): Promise<FakeAws> {
  const faults = new Map<FakeAwsOperation, FakeFault[]>();
  const listeners = new Map<FakeAwsOperation, (() => void)[]>();
  const held = new Set<NodeJS.Timeout>();

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => serve(req, res, Buffer.concat(chunks).toString('utf8')));
  });
  server.listen(0, '127.0.0.1');
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;

  const fake: FakeAws = {
    url,
    env: {
      AWS_ENDPOINT_URL_SESV2: url,
      AWS_ENDPOINT_URL_SES: url,
      AWS_ENDPOINT_URL_STS: url,
      AWS_REGION: options.region ?? 'us-east-1',
      AWS_ACCESS_KEY_ID: 'AKIDFAKEFAKEFAKEFAKE',
      AWS_SECRET_ACCESS_KEY: 'fake-secret-for-the-loopback-fake-only',
      AWS_EC2_METADATA_DISABLED: 'true',
      // Keeps the machine's ~/.aws files, if any, out of the test.
      AWS_CONFIG_FILE: '/nonexistent/numonic-fake-aws/config',
      AWS_SHARED_CREDENTIALS_FILE: '/nonexistent/numonic-fake-aws/credentials',
    },
    identities: new Map(),
    configurationSets: new Set(options.configurationSets ?? []),
    calls: Object.fromEntries(OPERATIONS.map((op) => [op, 0])) as FakeAws['calls'],
    signingHostedZone: options.signingHostedZone ?? 'dkim.amazonses.com',
    caller: { partition: options.partition ?? 'aws', account: options.account ?? '123456789012' },
    inject(operation, ...queued) {
      faults.set(operation, [...(faults.get(operation) ?? []), ...queued]);
    },
    pendingFaults(operation) {
      return faults.get(operation)?.length ?? 0;
    },
    onCall(operation, listener) {
      listeners.set(operation, [...(listeners.get(operation) ?? []), listener]);
    },
    addIdentity(name, tags = []) {
      const identity = newIdentity(name, fake.signingHostedZone, undefined, tags);
      fake.identities.set(name, identity);
      return identity;
    },
    setVerificationStatus(name, status, dkimStatus) {
      const identity = fake.identities.get(name);
      if (identity === undefined) {
        throw new Error(`The fake SES has no identity ${name}.`);
      }
      identity.verificationStatus = status;
      identity.dkimStatus = dkimStatus ?? (status === 'SUCCESS' ? 'SUCCESS' : identity.dkimStatus);
    },
    useEnv() {
      const names = [...Object.keys(fake.env), ...CLEARED_ENV];
      const previous = new Map(names.map((name) => [name, process.env[name]]));
      for (const name of CLEARED_ENV) {
        delete process.env[name];
      }
      Object.assign(process.env, fake.env);
      return () => {
        for (const [name, value] of previous) {
          if (value === undefined) {
            delete process.env[name];
          } else {
            process.env[name] = value;
          }
        }
      };
    },
    async close() {
      for (const timer of held) {
        clearTimeout(timer);
      }
      held.clear();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
    },
  };

  function serve(req: http.IncomingMessage, res: http.ServerResponse, body: string): void {
    let hungUp = false;
    res.on('close', () => {
      hungUp = !res.writableEnded;
    });
    const send = (answer: Answer) => {
      if (!hungUp) {
        res.writeHead(answer.status, answer.headers).end(answer.body);
      }
    };
    const later = (ms: number, then: () => void) => {
      const timer = setTimeout(() => {
        held.delete(timer);
        then();
      }, ms);
      held.add(timer);
    };

    const call = parseCall(req, body);
    if (call === undefined) {
      send(jsonError(404, 'UnknownOperationException', `No fake for ${req.method} ${req.url}.`));
      return;
    }
    fake.calls[call.operation] += 1;
    for (const listener of listeners.get(call.operation) ?? []) {
      listener();
    }
    if (!/^AWS4-HMAC-SHA256 Credential=/.test(req.headers.authorization ?? '')) {
      send(errorAnswer(call, 403, 'MissingAuthenticationToken', 'Request is not signed.'));
      return;
    }

    const fault = faults.get(call.operation)?.shift();
    if (fault === undefined) {
      send(handle(fake, call));
    } else if (!('delayMs' in fault)) {
      send(faultAnswer(call, fault));
    } else if (fault.applied === true) {
      const answer = handle(fake, call);
      later(fault.delayMs, () => send(answer));
    } else if (fault.applied === 'late') {
      later(fault.delayMs, () => send(handle(fake, call)));
    } else {
      // Looked at only if the client is still waiting: a request it gave up on never happened.
      later(fault.delayMs, () => !hungUp && send(handle(fake, call)));
    }
  }

  return fake;
}

function parseCall(req: http.IncomingMessage, body: string): Call | undefined {
  const { pathname } = new URL(req.url ?? '/', 'http://fake');
  const method = req.method ?? 'GET';

  if (pathname.startsWith('/v2/email/')) {
    const input = body === '' ? {} : (JSON.parse(body) as Record<string, unknown>);
    const [, , , collection, rawName] = pathname.split('/');
    const resource = rawName === undefined ? undefined : decodeURIComponent(rawName);
    const operation = restOperation(method, collection, resource !== undefined);
    if (operation === undefined) {
      return undefined;
    }
    return { operation, resource: resource ?? stringField(input), input, protocol: 'rest-json' };
  }

  if (method === 'POST' && pathname === '/') {
    const form = new URLSearchParams(body);
    const action = form.get('Action');
    if (action === 'VerifyDomainIdentity' || action === 'GetCallerIdentity') {
      const resource = form.get('Domain') ?? undefined;
      return { operation: action, resource, input: Object.fromEntries(form), protocol: 'query' };
    }
  }
  return undefined;
}

function restOperation(
  method: string,
  collection: string | undefined,
  named: boolean,
): FakeAwsOperation | undefined {
  if (collection === 'identities') {
    if (!named) return method === 'POST' ? 'CreateEmailIdentity' : undefined;
    if (method === 'GET') return 'GetEmailIdentity';
    if (method === 'DELETE') return 'DeleteEmailIdentity';
  }
  if (collection === 'configuration-sets') {
    if (!named) return method === 'POST' ? 'CreateConfigurationSet' : undefined;
    if (method === 'GET') return 'GetConfigurationSet';
  }
  return undefined;
}

/** The name a create request is about: `EmailIdentity` or `ConfigurationSetName`. */
function stringField(input: Record<string, unknown>): string | undefined {
  const value = input.EmailIdentity ?? input.ConfigurationSetName;
  return typeof value === 'string' ? value : undefined;
}

/** Carries out one call on the fake's state, as SES or STS would. */
function handle(fake: FakeAws, call: Call): Answer {
  const name = call.resource ?? '';
  const exists = (what: string) =>
    errorAnswer(call, 400, 'AlreadyExistsException', `${what} already exists.`);
  const missing = (what: string) =>
    errorAnswer(call, 404, 'NotFoundException', `${what} does not exist.`);

  switch (call.operation) {
    case 'CreateEmailIdentity': {
      if (fake.identities.has(name)) {
        return exists(`Email identity ${name}`);
      }
      const configurationSet = call.input.ConfigurationSetName as string | undefined;
      if (configurationSet !== undefined && !fake.configurationSets.has(configurationSet)) {
        return missing(`Configuration set <${configurationSet}>`);
      }
      const tags = (call.input.Tags as FakeIdentity['tags'] | undefined) ?? [];
      const identity = newIdentity(name, fake.signingHostedZone, configurationSet, tags);
      fake.identities.set(name, identity);
      return json({
        IdentityType: 'DOMAIN',
        VerifiedForSendingStatus: false,
        DkimAttributes: dkimAttributes(identity),
      });
    }
    case 'GetEmailIdentity': {
      const identity = fake.identities.get(name);
      if (identity === undefined) {
        return missing(`Email identity ${name}`);
      }
      return json({
        IdentityType: 'DOMAIN',
        FeedbackForwardingStatus: true,
        VerifiedForSendingStatus: identity.verificationStatus === 'SUCCESS',
        DkimAttributes: dkimAttributes(identity),
        Policies: {},
        Tags: identity.tags,
        ConfigurationSetName: identity.configurationSetName,
        VerificationStatus: identity.verificationStatus,
        ...(identity.verificationInfo === undefined
          ? {}
          : { VerificationInfo: identity.verificationInfo }),
      });
    }
    case 'DeleteEmailIdentity': {
      return fake.identities.delete(name) ? json({}) : missing(`Email identity ${name}`);
    }
    case 'GetConfigurationSet': {
      if (!fake.configurationSets.has(name)) {
        return missing(`Configuration set <${name}>`);
      }
      return json({ ConfigurationSetName: name });
    }
    case 'CreateConfigurationSet': {
      if (fake.configurationSets.has(name)) {
        return exists(`Configuration set <${name}>`);
      }
      fake.configurationSets.add(name);
      return json({});
    }
    case 'VerifyDomainIdentity': {
      // Like SES v1: verifying a domain it does not know creates the identity.
      const identity =
        fake.identities.get(name) ?? newIdentity(name, fake.signingHostedZone, undefined, []);
      fake.identities.set(name, identity);
      const token = escapeXml(identity.verificationToken);
      return xml(call, `<VerificationToken>${token}</VerificationToken>`);
    }
    case 'GetCallerIdentity': {
      const { partition, account } = fake.caller;
      return xml(
        call,
        `<Arn>arn:${partition}:iam::${account}:user/numonic-service</Arn>` +
          `<UserId>AIDAFAKEFAKEFAKEFAKE</UserId><Account>${account}</Account>`,
      );
    }
  }
}

function newIdentity(
  name: string,
  signingHostedZone: string,
  configurationSetName: string | undefined,
  tags: FakeIdentity['tags'],
): FakeIdentity {
  return {
    name,
    dkimTokens: [dkimToken(), dkimToken(), dkimToken()],
    signingHostedZone,
    verificationToken: randomBytes(32).toString('base64'),
    verificationStatus: 'PENDING',
    dkimStatus: 'PENDING',
    configurationSetName,
    tags,
  };
}

function dkimAttributes(identity: FakeIdentity): Record<string, unknown> {
  return {
    SigningEnabled: true,
    Status: identity.dkimStatus,
    Tokens: identity.dkimTokens,
    SigningHostedZone: identity.signingHostedZone,
    SigningAttributesOrigin: 'AWS_SES',
    NextSigningKeyLength: 'RSA_2048_BIT',
    CurrentSigningKeyLength: 'RSA_2048_BIT',
  };
}

function dkimToken(): string {
  return randomBytes(16).toString('hex');
}

function faultAnswer(call: Call, fault: Exclude<FakeFault, { delayMs: number }>): Answer {
  if ('throttle' in fault) {
    return call.protocol === 'rest-json'
      ? errorAnswer(call, 429, 'TooManyRequestsException', 'Too many requests.')
      : errorAnswer(call, 400, 'Throttling', 'Rate exceeded');
  }
  if ('alreadyExists' in fault) {
    return errorAnswer(call, 400, 'AlreadyExistsException', `${call.resource} already exists.`);
  }
  if ('notFound' in fault) {
    return errorAnswer(call, 404, 'NotFoundException', `${call.resource} does not exist.`);
  }
  if ('error' in fault) {
    const { status, code, message } = fault.error;
    return errorAnswer(call, status, code, message ?? code);
  }
  const code =
    fault.status === 500
      ? call.protocol === 'rest-json'
        ? 'InternalServiceErrorException'
        : 'InternalFailure'
      : 'ServiceUnavailable';
  return errorAnswer(call, fault.status, code, 'The fake is failing on purpose.');
}

function errorAnswer(call: Call, status: number, code: string, message: string): Answer {
  if (call.protocol === 'rest-json') {
    return jsonError(status, code, message);
  }
  const type = status < 500 ? 'Sender' : 'Receiver';
  return {
    status,
    headers: { 'content-type': 'text/xml', 'x-amzn-requestid': randomUUID() },
    body:
      `<ErrorResponse xmlns="${QUERY_NAMESPACES[call.operation]}">` +
      `<Error><Type>${type}</Type><Code>${escapeXml(code)}</Code>` +
      `<Message>${escapeXml(message)}</Message></Error>` +
      `<RequestId>${randomUUID()}</RequestId></ErrorResponse>`,
  };
}

function jsonError(status: number, code: string, message: string): Answer {
  return {
    status,
    headers: {
      'content-type': 'application/json',
      'x-amzn-errortype': `${code}:http://internal.amazon.com/coral/com.amazonaws.sesv2/`,
      'x-amzn-requestid': randomUUID(),
    },
    body: JSON.stringify({ message }),
  };
}

function json(body: unknown): Answer {
  return {
    status: 200,
    headers: { 'content-type': 'application/json', 'x-amzn-requestid': randomUUID() },
    body: JSON.stringify(body),
  };
}

function xml(call: Call, result: string): Answer {
  const action = call.operation;
  return {
    status: 200,
    headers: { 'content-type': 'text/xml', 'x-amzn-requestid': randomUUID() },
    body:
      `<${action}Response xmlns="${QUERY_NAMESPACES[action]}">` +
      `<${action}Result>${result}</${action}Result>` +
      `<ResponseMetadata><RequestId>${randomUUID()}</RequestId></ResponseMetadata>` +
      `</${action}Response>`,
  };
}

function escapeXml(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;');
}
