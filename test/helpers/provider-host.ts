// The engine's path to a dynamic provider, without the Pulumi CLI: take the `__provider` text a
// real resource serializes, start the SDK's own dynamic-provider host as a child process, and call
// it over gRPC the way the engine does (Configure first, then Check, Diff, Create, Read, Update,
// Delete). A provider that passes here runs the same code under `pulumi up`.

import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import * as grpc from '@grpc/grpc-js';
import * as pulumi from '@pulumi/pulumi';
import { ResourceProviderClient } from '@pulumi/pulumi/proto/provider_grpc_pb';
import * as proto from '@pulumi/pulumi/proto/provider_pb';
import { Struct, type JavaScriptValue } from 'google-protobuf/google/protobuf/struct_pb';

/** The engine's placeholder for a value not known yet (a preview's computed input). */
export const UNKNOWN = '04da6b54-80e4-46f7-96ec-b56ff0331ba9';

const SIG_KEY = '4dabf18193072939515e22adb298388d';
const SECRET_SIG = '1b47061264138c4ac30d75fd1eb44270';

/** A value the engine holds as a secret; see {@link secret}. */
export class HostSecret {
  constructor(readonly value: unknown) {}
}

/**
 * Marks a property or config value as secret. The harness sends it the way the engine does: in
 * `Configure` always wrapped as `{ [sig]: secretSig, value }` (the host unwraps config itself);
 * in the resource calls plain when the host answered `acceptSecrets: false` (the dynamic host
 * does), wrapped otherwise or when `sendSecretsWrapped` is set.
 */
export function secret(value: unknown): HostSecret {
  return new HostSecret(value);
}

export type Props = Record<string, unknown>;

export interface HostOptions {
  /** The `__provider` text; added to every property bag that does not carry its own. */
  providerText: string;
  /** Extra environment for the host (its own NUMONIC_* are removed first). */
  env?: Record<string, string>;
  /** The host's working directory; an empty temp folder proves the text needs nothing there. */
  cwd?: string;
  /** Stack configuration sent in the first `Configure`, keys like `numonic:apiToken`. */
  config?: Record<string, unknown>;
  /** Send secrets wrapped in the resource calls too, as a host that accepts secrets gets them. */
  sendSecretsWrapped?: boolean;
  /** The type token the engine names in each call. */
  type?: string;
}

export interface CheckOutcome {
  inputs: Props;
  failures: { property: string; reason: string }[];
}

export interface DiffOutcome {
  changes: 'none' | 'some' | 'unknown';
  replaces: string[];
  deleteBeforeReplace: boolean;
}

export interface CreateOutcome {
  id: string;
  properties: Props;
}

export interface ReadOutcome {
  /** Empty when the provider reports the resource gone. */
  id: string;
  properties: Props;
  /** The inputs the provider returned for later diffs, if any. */
  inputs: Props | undefined;
}

/** A running dynamic-provider host and the engine's calls to it. */
export interface ProviderHost {
  readonly providerText: string;
  /** What `Configure` answered about secrets; false for the dynamic-provider host. */
  readonly acceptSecrets: boolean;
  configure(config: Record<string, unknown>): Promise<{ acceptSecrets: boolean }>;
  check(olds: Props, news: Props): Promise<CheckOutcome>;
  diff(id: string, olds: Props, news: Props): Promise<DiffOutcome>;
  create(props: Props): Promise<CreateOutcome>;
  read(id: string, props: Props, inputs?: Props): Promise<ReadOutcome>;
  update(id: string, olds: Props, news: Props): Promise<{ properties: Props }>;
  delete(id: string, props: Props): Promise<void>;
  /** Everything the host process printed, stdout and stderr. */
  output(): string;
  close(): Promise<void>;
}

/** A failed call: `message` is the gRPC status detail, the text the engine shows the user. */
export class HostCallError extends Error {
  constructor(
    readonly method: string,
    message: string,
    readonly grpcCode: number,
  ) {
    super(message);
    this.name = 'HostCallError';
  }
}

const textCache = new Map<string, string>();
let serializations = 0;

/**
 * The `__provider` text a resource serializes, taken from the mock monitor's `newResource` the
 * way the engine receives it. Mocks are set here, before the resource is constructed; the text
 * arrives asynchronously. Cached per `key`: the SDK serializes one provider object once anyway.
 *
 * @example
 * const text = await providerTextOf('domain', () => {
 *   return new NumonicDomain('d', { domainName: 'yourapp.com' });
 * });
 */
export async function providerTextOf(key: string, construct: () => unknown): Promise<string> {
  const cached = textCache.get(key);
  if (cached !== undefined) {
    return cached;
  }

  const text = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no __provider text for ${key}`)), 30_000);
    pulumi.runtime.setMocks(
      {
        newResource: (args) => {
          const provider: unknown = args.inputs.__provider;
          if (typeof provider === 'string') {
            clearTimeout(timer);
            resolve(provider);
          }
          return { id: `${args.name}-id`, state: args.inputs };
        },
        call: (args) => args.inputs,
      },
      'numonic-test',
      'test',
      false,
    );
    construct();
  });

  textCache.set(key, text);
  return text;
}

export interface ChildSerializeOptions {
  /** The module that exports the resource class, as `require` finds it from `cwd`. */
  module: string;
  /** The exported class to construct. */
  exportName: string;
  /** The resource's args, as JSON. */
  args: Record<string, unknown>;
  /**
   * The program's folder and working directory, where `@pulumi/pulumi` and `module` are resolved;
   * this process's working directory when absent.
   */
  cwd?: string;
  /** The program's environment, on top of this process's. */
  env?: Record<string, string>;
  /** Options for `node` itself, e.g. `--preserve-symlinks`. */
  nodeOptions?: string[];
}

/**
 * The `__provider` text as a fresh program process serializes it, with its own environment and
 * working directory: what `pulumi up` would store. Rejects with the serializer's message when
 * serialization fails.
 *
 * @example
 * const text = await providerTextInChild({
 *   module: require.resolve('../../provider'),
 *   exportName: 'NumonicDomain',
 *   args: { domainName: 'yourapp.com' },
 *   env: { NUMONIC_API_TOKEN: token },
 * });
 */
export async function providerTextInChild(options: ChildSerializeOptions): Promise<string> {
  const [moduleName, exportName, args] = [options.module, options.exportName, options.args].map(
    (value) => JSON.stringify(value),
  );
  const program = `
    const fs = require('fs');
    process.on('unhandledRejection', (error) => {
      fs.writeSync(2, String(error && error.message || error));
      process.exit(2);
    });
    const pulumi = require(require.resolve('@pulumi/pulumi', { paths: [process.cwd()] }));
    pulumi.runtime.setMocks({
      newResource(args) {
        if (typeof args.inputs.__provider === 'string') {
          fs.writeSync(1, JSON.stringify({ text: args.inputs.__provider }));
        }
        return { id: args.name + '-id', state: args.inputs };
      },
      call: (args) => args.inputs,
    }, 'numonic-test', 'test', false);
    new (require(${moduleName})[${exportName}])('resource', ${args});
    setTimeout(() => { fs.writeSync(2, 'no __provider text within 30 s'); process.exit(3); }, 30000)
      .unref();
  `;

  // A file, not `node -e`: under `-e` Node exposes built-in modules as globals (`global.url`), and
  // the serializer would name them that way, which no other process has.
  const cwd = options.cwd ?? process.cwd();
  const folder = options.cwd ?? os.tmpdir();
  const file = path.join(folder, `.serialize-${process.pid}-${(serializations += 1)}.js`);
  writeFileSync(file, program);
  try {
    const stdout = await new Promise<string>((resolve, reject) => {
      execFile(
        process.execPath,
        [...(options.nodeOptions ?? []), file],
        { cwd, env: { ...process.env, ...options.env }, maxBuffer: 64 * 1024 * 1024 },
        (error, out, err) => {
          if (error === null) {
            resolve(out);
          } else {
            reject(new Error(`serializing ${options.exportName} failed:\n${err}`));
          }
        },
      );
    });
    return (JSON.parse(stdout) as { text: string }).text;
  } finally {
    rmSync(file, { force: true });
  }
}

/**
 * Starts `@pulumi/pulumi/cmd/dynamic-provider` as the engine does, reads its port from stdout,
 * connects, and sends the first `Configure` (with `options.config`, or empty).
 *
 * @example
 * const host = await startProviderHost({ providerText, config: { 'numonic:apiUrl': url } });
 * const { id, properties } = await host.create({ domainName: 'yourapp.com' });
 * await host.close();
 */
export async function startProviderHost(options: HostOptions): Promise<ProviderHost> {
  const pulumiRoot = path.dirname(require.resolve('@pulumi/pulumi/package.json'));
  const script = path.join(pulumiRoot, 'cmd', 'dynamic-provider', 'index.js');
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.NUMONIC_API_URL;
  delete env.NUMONIC_API_TOKEN;

  const child = spawn(process.execPath, [script, '127.0.0.1:0'], {
    cwd: options.cwd,
    env: {
      ...env,
      PULUMI_NODEJS_PROJECT: 'numonic-test',
      PULUMI_NODEJS_STACK: 'test',
      ...options.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let printed = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (printed += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (printed += chunk));

  let port: number;
  try {
    port = await portOf(child, () => printed);
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
  const client = new ResourceProviderClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  const type = options.type ?? 'pulumi-nodejs:dynamic:Resource';
  const urn = `urn:pulumi:test::numonic-test::${type}::resource`;

  let acceptSecrets = false;
  const wire = (props: Props) => {
    const withProvider = { __provider: options.providerText, ...props };
    return toStruct(withProvider, acceptSecrets || options.sendSecretsWrapped === true);
  };

  const host: ProviderHost = {
    providerText: options.providerText,
    get acceptSecrets() {
      return acceptSecrets;
    },

    async configure(config) {
      const request = new proto.ConfigureRequest()
        .setArgs(toStruct(config, true))
        .setAcceptsecrets(true)
        .setAcceptresources(true);
      const response = await call<proto.ConfigureResponse>(client, 'configure', request);
      acceptSecrets = response.getAcceptsecrets();
      return { acceptSecrets };
    },

    async check(olds, news) {
      const request = new proto.CheckRequest()
        .setUrn(urn)
        .setType(type)
        .setName('resource')
        .setOlds(wire(olds))
        .setNews(wire(news));
      const response = await call<proto.CheckResponse>(client, 'check', request);
      return {
        inputs: structOf(response.getInputs()),
        failures: response.getFailuresList().map((failure) => ({
          property: failure.getProperty(),
          reason: failure.getReason(),
        })),
      };
    },

    async diff(id, olds, news) {
      const request = new proto.DiffRequest()
        .setId(id)
        .setUrn(urn)
        .setType(type)
        .setName('resource')
        .setOlds(wire(olds))
        .setNews(wire(news));
      const response = await call<proto.DiffResponse>(client, 'diff', request);
      const changes = response.getChanges();
      return {
        changes:
          changes === proto.DiffResponse.DiffChanges.DIFF_NONE
            ? 'none'
            : changes === proto.DiffResponse.DiffChanges.DIFF_SOME
              ? 'some'
              : 'unknown',
        replaces: response.getReplacesList(),
        deleteBeforeReplace: response.getDeletebeforereplace(),
      };
    },

    async create(props) {
      const request = new proto.CreateRequest()
        .setUrn(urn)
        .setType(type)
        .setName('resource')
        .setProperties(wire(props));
      const response = await call<proto.CreateResponse>(client, 'create', request);
      return { id: response.getId(), properties: structOf(response.getProperties()) };
    },

    async read(id, props, inputs) {
      const request = new proto.ReadRequest()
        .setId(id)
        .setUrn(urn)
        .setType(type)
        .setName('resource')
        .setProperties(wire(props));
      if (inputs !== undefined) {
        request.setInputs(wire(inputs));
      }
      const response = await call<proto.ReadResponse>(client, 'read', request);
      const returnedInputs = response.getInputs();
      return {
        id: response.getId(),
        properties: structOf(response.getProperties()),
        inputs: returnedInputs === undefined ? undefined : structOf(returnedInputs),
      };
    },

    async update(id, olds, news) {
      const request = new proto.UpdateRequest()
        .setId(id)
        .setUrn(urn)
        .setType(type)
        .setName('resource')
        .setOlds(wire(olds))
        .setNews(wire(news));
      const response = await call<proto.UpdateResponse>(client, 'update', request);
      return { properties: structOf(response.getProperties()) };
    },

    async delete(id, props) {
      const request = new proto.DeleteRequest()
        .setId(id)
        .setUrn(urn)
        .setType(type)
        .setName('resource')
        .setProperties(wire(props));
      await call(client, 'delete', request);
    },

    output: () => printed,

    async close() {
      client.close();
      if (child.exitCode === null && child.signalCode === null) {
        const exited = once(child, 'exit');
        child.kill('SIGTERM');
        await exited;
      }
    },
  };

  await host.configure(options.config ?? {});
  return host;
}

/** Drops `__provider` (the host echoes it into every answer), for comparing what remains. */
export function withoutProvider(props: Props): Props {
  const { __provider: _provider, ...rest } = props;
  return rest;
}

async function portOf(child: ChildProcess, printed: () => string): Promise<number> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => fail('did not print its port within 20 s'), 20_000);
    const onData = () => {
      const match = /^(\d+)\s*$/m.exec(printed());
      if (match !== null) {
        cleanup();
        resolve(Number(match[1]));
      }
    };
    const onExit = (code: number | null) => fail(`exited with ${code} before printing its port`);
    function fail(why: string) {
      cleanup();
      reject(new Error(`the dynamic-provider host ${why}:\n${printed()}`));
    }
    function cleanup() {
      clearTimeout(timer);
      child.stdout?.off('data', onData);
      child.off('exit', onExit);
    }

    child.stdout?.on('data', onData);
    child.on('exit', onExit);
  });
}

type Unary = (
  request: unknown,
  metadata: grpc.Metadata,
  options: Partial<grpc.CallOptions>,
  callback: (error: grpc.ServiceError | null, response: unknown) => void,
) => grpc.ClientUnaryCall;

function call<T>(client: ResourceProviderClient, method: string, request: unknown): Promise<T> {
  const unary = (client as unknown as Record<string, Unary>)[method]!.bind(client);
  return new Promise((resolve, reject) => {
    const deadline = Date.now() + 120_000;
    unary(request, new grpc.Metadata(), { deadline }, (error, response) => {
      if (error !== null) {
        reject(new HostCallError(method, error.details || error.message, error.code));
      } else {
        resolve(response as T);
      }
    });
  });
}

function toStruct(values: Record<string, unknown>, keepSecrets: boolean): Struct {
  return Struct.fromJavaScript(toWire(values, keepSecrets) as Record<string, JavaScriptValue>);
}

function toWire(value: unknown, keepSecrets: boolean): unknown {
  if (value instanceof HostSecret) {
    const inner = toWire(value.value, keepSecrets);
    return keepSecrets ? { [SIG_KEY]: SECRET_SIG, value: inner } : inner;
  }
  if (Array.isArray(value)) {
    return value.map((item) => toWire(item, keepSecrets));
  }
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(
      Object.entries(value)
        .filter(([, item]) => item !== undefined)
        .map(([key, item]) => [key, toWire(item, keepSecrets)]),
    );
  }
  return value;
}

function structOf(struct: Struct | undefined): Props {
  return (struct?.toJavaScript() ?? {}) as Props;
}
