// Runs a Pulumi program under `pulumi.runtime.setMocks`-style mocks, in a child process.
//
// Why a child: the Pulumi runtime keeps its settings, config and monitor in process-wide globals,
// and a program registers its resources as a side effect of `require`. Clearing `require.cache`
// would not reset those globals, and the mocha run shares its process with other suites. A fresh
// `node` per run starts from nothing and leaves nothing behind. The child is
// `pulumi-program-child.ts`; it answers with one IPC message, a plain-data report.

import { fork } from 'node:child_process';
import path from 'node:path';

/** A DNS record as `NumonicDomain` outputs it. */
export interface FakeDnsRecord {
  type: string;
  name: string;
  value: string;
}

/** The outputs the mocked `NumonicDomain` answers with once it is "created". */
export interface FakeDomainState {
  domainId: number;
  tenantId: string;
  domainName: string;
  identityArn: string;
  verificationStatus: string;
  configurationSetName: string;
  dnsRecords: FakeDnsRecord[];
  verificationRecord: FakeDnsRecord;
  dkimRecords: FakeDnsRecord[];
}

export interface ProgramRunOptions {
  /**
   * The program, relative to `dist/` when compiled (`examples/route53/index.js`). A `.ts` entry
   * is relative to the repository root (`quickstart/index.ts`) and is loaded through ts-node the
   * way `pulumi up` loads a TypeScript project, type check included.
   */
  program: string;
  /** The Pulumi project name: the namespace of `new pulumi.Config()`. */
  project: string;
  /** Stack configuration with full keys, e.g. `{ 'numonic-route53:zoneId': 'Z123' }`. */
  config?: Record<string, string>;
  /** Keys of `config` that are secrets. */
  secretKeys?: string[];
  /**
   * Run as a preview of a first deployment: the domain's outputs are unknown, as the engine
   * reports them for a dynamic resource that is yet to be created.
   */
  preview?: boolean;
  /** The domain's outputs in a non-preview run. */
  domain?: FakeDomainState;
}

/** The placeholder the report uses for a value that is unknown (a preview). */
export const UNKNOWN = '<unknown>';

/** One `RegisterResource` call as the mocked engine received it, in arrival order. */
export interface RegisteredResource {
  type: string;
  name: string;
  urn: string;
  custom: boolean;
  /** The inputs, with unknown values as {@link UNKNOWN} and secrets unwrapped. */
  inputs: Record<string, unknown>;
  /** The URNs of every resource this one depends on (explicit `dependsOn` and inputs). */
  dependencies: string[];
}

export interface ProgramRun {
  resources: RegisteredResource[];
  /** Each provider function the program called (`aws:route53/getZone:getZone`, ...). */
  invokes: { token: string; inputs: Record<string, unknown> }[];
  /** The program's exports, i.e. its stack outputs, as plain values or {@link UNKNOWN}. */
  outputs: Record<string, unknown>;
  /** Errors the program threw while loading or in a callback. */
  errors: string[];
}

const CHILD = path.join(__dirname, 'pulumi-program-child.js');
const TIMEOUT_MS = 28_000;

/** The root of the compiled tree, where compiled `program` paths are resolved. */
export const DIST = path.resolve(__dirname, '..', '..');
/** The repository root, where `.ts` `program` paths are resolved. */
export const ROOT = path.resolve(DIST, '..');

/**
 * Runs the program in a fresh `node` and resolves with what it registered and exported.
 *
 * @example
 * const run = await runProgram({ program: 'quickstart/index.js', project: 'numonic-quickstart' });
 * run.resources.filter((resource) => resource.type === 'aws:route53/record:Record');
 */
export function runProgram(options: ProgramRunOptions): Promise<ProgramRun> {
  const base = options.program.endsWith('.ts') ? ROOT : DIST;
  const request = { ...options, program: path.join(base, options.program) };

  return new Promise((resolve, reject) => {
    const child = fork(CHILD, [JSON.stringify(request)], {
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      env: { ...process.env, PULUMI_CONFIG: undefined, PULUMI_NODEJS_STACK: undefined },
    });
    let stderr = '';
    let report: ProgramRun | undefined;
    const timer = setTimeout(() => child.kill(), TIMEOUT_MS);

    child.stdout?.resume();
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.on('message', (message) => {
      report = message as ProgramRun;
    });
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (report !== undefined) {
        resolve(report);
      } else {
        const why = signal === null ? `exit code ${code}` : `signal ${signal}`;
        reject(new Error(`the program runner ended (${why}) without a report:\n${stderr}`));
      }
    });
  });
}

/** The type tokens of the two dynamic resources, as the engine sees them. */
export const DOMAIN_TYPE = 'pulumi-nodejs:dynamic/numonic:NumonicDomain';
export const VERIFICATION_TYPE = 'pulumi-nodejs:dynamic/numonic:NumonicDomainVerification';

/**
 * Runs `examples/<name>` as its own project (`numonic-<name>`) with `config` keys in that project's
 * namespace, `domainName` defaulting to {@link FAKE_DOMAIN}'s.
 */
export function runExample(
  name: 'route53' | 'cloudflare',
  config: Record<string, string>,
  options: Partial<ProgramRunOptions> = {},
): Promise<ProgramRun> {
  const project = `numonic-${name}`;
  const keyed = Object.entries({ domainName: FAKE_DOMAIN.domainName, ...config }).map(
    ([key, value]) => [`${project}:${key}`, value],
  );
  return runProgram({
    program: `examples/${name}/index.js`,
    project,
    config: Object.fromEntries(keyed),
    domain: FAKE_DOMAIN,
    ...options,
  });
}

/** The resources of one type token, in registration order. */
export function resourcesOfType(run: ProgramRun, type: string): RegisteredResource[] {
  return run.resources.filter((resource) => resource.type === type);
}

const DOMAIN = 'yourapp.com';

/**
 * A domain as the service returns it in `simulated` mode: a TXT token and three DKIM CNAMEs.
 */
export const FAKE_DOMAIN: FakeDomainState = fakeDomain(DOMAIN);

function fakeDomain(domainName: string): FakeDomainState {
  const verificationRecord = {
    type: 'TXT',
    name: `_amazonses.${domainName}`,
    value: 'pmBGN/7MjnfhTKUZ06Enqq1PeGUaOkw8lGhcfwefcHU=',
  };
  const dkimTokens = [
    'q4w7zhx2jqk6pb3v5nq7rt2ycx9m4kd8',
    'sl1fa6o0ge2un8ih5jy3tzcmrwbpvd7k',
    '0vmc3xkq9ra5lweh2tzby8fdg6nj4ups',
  ];
  const dkimRecords = dkimTokens.map((token) => ({
    type: 'CNAME',
    name: `${token}._domainkey.${domainName}`,
    value: `${token}.dkim.amazonses.com`,
  }));

  return {
    domainId: 42,
    tenantId: '550e8400-e29b-41d4-a716-446655440000',
    domainName,
    identityArn: `arn:aws:ses:us-east-1:000000000000:identity/${domainName}`,
    verificationStatus: 'Pending',
    configurationSetName: 'numonic-emails',
    dnsRecords: [verificationRecord, ...dkimRecords],
    verificationRecord,
    dkimRecords,
  };
}
