// The child side of `pulumi-program.ts`: mocks the engine, loads one program (compiled, or its
// TypeScript source through ts-node), and sends back what the engine would have seen. Run with
// `fork`, the options as JSON in argv[2].
//
// `pulumi.runtime.setMocks` installs the SDK's `MockMonitor`; its `registerResource` is wrapped
// only to read each `RegisterResourceRequest`'s dependency list, which `MockResourceArgs` does not
// carry. Exports are read through `Output`'s internal `promise(true)`, which yields unknown
// values too, since `apply` never runs on them during a preview.

import { existsSync } from 'node:fs';
import path from 'node:path';

import * as pulumi from '@pulumi/pulumi';
import type { MockMonitor } from '@pulumi/pulumi/runtime/mocks';

import type { FakeDomainState, ProgramRun, ProgramRunOptions } from './pulumi-program';

const UNKNOWN = '<unknown>';
const FAKE_ZONE_ID = 'Z0FAKEZONE4NUMONIC';
// A deserialized secret is `{ [specialSigKey]: specialSecretSig, value }`.
const SECRET_SIGNATURE_KEY = pulumi.runtime.specialSigKey;

interface RegisterRequest {
  getType(): string;
  getName(): string;
  getParent(): string;
  getDependenciesList(): string[];
}

const options = JSON.parse(process.argv[2] ?? '{}') as ProgramRunOptions;
const report: ProgramRun = { resources: [], invokes: [], outputs: {}, errors: [] };
const registrations = new Map<string, { urn: string; dependencies: string[] }>();

/** Records each registration's URN and dependencies, then lets the mock monitor answer it. */
function recordRegistrations(monitor: MockMonitor): void {
  const register = monitor.registerResource.bind(monitor);

  monitor.registerResource = (req: RegisterRequest, callback) => {
    registrations.set(`${req.getType()}::${req.getName()}`, {
      urn: monitor['newUrn'](req.getParent(), req.getType(), req.getName()),
      dependencies: req.getDependenciesList(),
    });
    return register(req, callback);
  };
}

const mocks: pulumi.runtime.Mocks = {
  newResource(args) {
    report.resources.push({
      type: args.type,
      name: args.name,
      urn: '',
      custom: args.custom ?? false,
      inputs: plain(args.inputs) as Record<string, unknown>,
      dependencies: [],
    });

    return { id: options.preview ? undefined : `${args.name}-id`, state: stateFor(args) };
  },
  call(args) {
    const inputs = plain(args.inputs) as Record<string, unknown>;
    report.invokes.push({ token: args.token, inputs });
    if (
      args.token === 'aws:route53/getZone:getZone' ||
      args.token === 'cloudflare:index/getZone:getZone'
    ) {
      return { ...args.inputs, id: FAKE_ZONE_ID, zoneId: FAKE_ZONE_ID };
    }
    return args.inputs;
  },
};

function stateFor(args: pulumi.runtime.MockResourceArgs): Record<string, unknown> {
  const inputs = args.inputs as Record<string, unknown>;

  if (isDomain(args)) {
    return options.preview ? unknownDomainOutputs(inputs) : { ...inputs, ...requireDomain() };
  }
  if (isVerification(args)) {
    const domain = options.preview ? undefined : requireDomain();
    return {
      ...inputs,
      domainName: domain?.domainName ?? pulumi.runtime.unknownValue,
      verificationStatus: domain === undefined ? pulumi.runtime.unknownValue : 'Success',
      verifiedAt: domain === undefined ? pulumi.runtime.unknownValue : '2026-01-01T00:00:00.000Z',
    };
  }
  if (args.type === 'aws:route53/record:Record') {
    return { ...inputs, fqdn: inputs.name };
  }
  return inputs;
}

// Both dynamic resources share the `pulumi-nodejs:dynamic...` token family; their inputs tell
// them apart without depending on the module and type names the provider chose.
function isDomain(args: pulumi.runtime.MockResourceArgs): boolean {
  return args.type.startsWith('pulumi-nodejs:dynamic') && 'domainName' in args.inputs;
}

function isVerification(args: pulumi.runtime.MockResourceArgs): boolean {
  return args.type.startsWith('pulumi-nodejs:dynamic') && 'domainId' in args.inputs;
}

function requireDomain(): FakeDomainState {
  if (options.domain === undefined) {
    throw new Error('runProgram needs `domain` for a run that is not a preview');
  }
  return options.domain;
}

function unknownDomainOutputs(inputs: Record<string, unknown>): Record<string, unknown> {
  const keys = [
    'domainId',
    'tenantId',
    'identityArn',
    'verificationStatus',
    'configurationSetName',
    'dnsRecords',
    'verificationRecord',
    'dkimRecords',
  ];
  const unknowns = Object.fromEntries(keys.map((key) => [key, pulumi.runtime.unknownValue]));

  return { ...inputs, ...unknowns };
}

/** A JSON-safe copy: unknowns become {@link UNKNOWN}, secrets are unwrapped. */
function plain(value: unknown): unknown {
  // `deserializeProperties` turns the engine's unknown sentinel into the SDK's `unknown` object.
  if (value === pulumi.runtime.unknownValue || pulumi.isUnknown(value)) {
    return UNKNOWN;
  }
  if (Array.isArray(value)) {
    return value.map(plain);
  }
  if (value !== null && typeof value === 'object') {
    if (SECRET_SIGNATURE_KEY in value) {
      return plain((value as unknown as { value: unknown }).value);
    }
    const entries = Object.entries(value as Record<string, unknown>);
    return Object.fromEntries(entries.map(([key, item]) => [key, plain(item)]));
  }
  return value;
}

async function exportedValue(value: unknown): Promise<unknown> {
  // `pulumi.output` also lifts arrays and objects that hold outputs, as stack outputs may.
  const output = pulumi.output(value) as pulumi.Output<unknown> & {
    isKnown: Promise<boolean>;
    promise(withUnknowns?: boolean): Promise<unknown>;
  };
  const [known, resolved] = await Promise.all([output.isKnown, output.promise(true)]);

  return known ? plain(resolved) : UNKNOWN;
}

async function main(): Promise<void> {
  process.on('unhandledRejection', (error) => report.errors.push(messageOf(error)));

  await pulumi.runtime.setMocks(mocks, options.project, 'stack', options.preview ?? false);
  recordRegistrations(pulumi.runtime.getMonitor() as unknown as MockMonitor);
  pulumi.runtime.setAllConfig(options.config ?? {}, options.secretKeys ?? []);

  let program: Record<string, unknown> = {};
  try {
    if (options.program.endsWith('.ts')) {
      registerTypeScriptLikePulumi(projectFolderOf(options.program));
    }
    program = require(options.program) as Record<string, unknown>;
  } catch (error) {
    report.errors.push(messageOf(error));
  }

  for (const [key, value] of Object.entries(program)) {
    try {
      report.outputs[key] = await exportedValue(value);
    } catch (error) {
      report.errors.push(messageOf(error));
    }
  }
  await pulumi.runtime.disconnect();

  for (const resource of report.resources) {
    const registration = registrations.get(`${resource.type}::${resource.name}`);
    resource.urn = registration?.urn ?? '';
    resource.dependencies = registration?.dependencies ?? [];
  }
}

/**
 * The folder of the `Pulumi.yaml` nearest above `program`: where `pulumi up` runs the language
 * host, whose working directory decides which `tsconfig.json` applies. For the quickstart that is
 * the repository root, although its program lives in `quickstart/`.
 */
function projectFolderOf(program: string): string {
  let folder = path.dirname(program);
  while (!existsSync(path.join(folder, 'Pulumi.yaml'))) {
    const parent = path.dirname(folder);
    if (parent === folder) throw new Error(`No Pulumi.yaml above ${program}.`);
    folder = parent;
  }
  return folder;
}

/**
 * Prepares `require` for a `.ts` entry as the Node.js language host does for a TypeScript
 * project (`@pulumi/pulumi/cmd/run/run.js`): the project's folder as working directory, its
 * `tsconfig.json` if there is one, and ts-node (the SDK's vendored copy unless one is installed)
 * with the host's default compiler options under the tsconfig's own.
 */
function registerTypeScriptLikePulumi(folder: string): void {
  process.chdir(folder);
  const tsutils = require('@pulumi/pulumi/tsutils') as {
    loadTypeScriptCompilerOptions(path: string): Record<string, unknown>;
    typeScriptRequireStrings(): { tsnodeRequire: string; typescriptRequire: string };
  };
  const { tsnodeRequire, typescriptRequire } = tsutils.typeScriptRequireStrings();
  const compilerOptions = tsutils.loadTypeScriptCompilerOptions('tsconfig.json');
  const tsNode = require(tsnodeRequire) as { register(options: object): void };

  tsNode.register({
    compiler: typescriptRequire,
    transpileOnly: compilerOptions.noCheck,
    project: 'tsconfig.json',
    skipProject: !existsSync('tsconfig.json'),
    compilerOptions: {
      target: 'ES2020',
      module: 'nodenext',
      moduleResolution: 'nodenext',
      sourceMap: 'true',
      ...compilerOptions,
    },
  });
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

main().then(
  () => process.send?.(report, () => process.exit(0)),
  (error: unknown) => {
    report.errors.push(messageOf(error));
    process.send?.(report, () => process.exit(1));
  },
);
