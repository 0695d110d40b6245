// `pulumi.runtime.setMocks`, plus a record of each registration as the monitor received it: the
// raw property struct (where a secret is still wrapped) and `additionalSecretOutputs`, which the
// mocks' own `newResource` never sees.

import * as pulumi from '@pulumi/pulumi';

const SIG_KEY = '4dabf18193072939515e22adb298388d';
const SECRET_SIG = '1b47061264138c4ac30d75fd1eb44270';

export interface Registration {
  type: string;
  name: string;
  /** The inputs as the mocks see them, secrets unwrapped. */
  inputs: Record<string, unknown>;
  /** The inputs as sent to the monitor: a secret is `{ [sig]: secretSig, value }`. */
  wire: Record<string, unknown>;
  additionalSecretOutputs: string[];
}

export interface MockedRuntime {
  registrations: Registration[];
  /** The registration of the resource named `name`, once it arrives. */
  registration(name: string): Promise<Registration>;
}

interface RegisterRequest {
  getType(): string;
  getName(): string;
  getObject(): { toJavaScript(): Record<string, unknown> } | undefined;
  getAdditionalsecretoutputsList(): string[];
}

/**
 * Sets mocks whose `newResource` answers the inputs plus `outputsFor(type, inputs)`, and records
 * every registration. Call it before constructing resources.
 *
 * @example
 * const runtime = mockRuntime((type) => (type.endsWith(':NumonicDomain') ? { domainId: 7 } : {}));
 * new NumonicDomain('mail', { domainName: 'yourapp.com' });
 * const { additionalSecretOutputs } = await runtime.registration('mail');
 */
export function mockRuntime(
  outputsFor: (type: string, inputs: Record<string, unknown>) => Record<string, unknown>,
): MockedRuntime {
  const registrations: Registration[] = [];
  const waiting = new Map<string, (registration: Registration) => void>();

  pulumi.runtime.setMocks(
    {
      newResource: (args) => ({
        id: `${args.name}-id`,
        state: { ...args.inputs, ...outputsFor(args.type, args.inputs) },
      }),
      call: (args) => args.inputs,
    },
    'numonic-test',
    'test',
    false,
  );

  const monitor = pulumi.runtime.getMonitor() as unknown as {
    registerResource(request: RegisterRequest, callback: unknown): Promise<void>;
  };
  const register = monitor.registerResource.bind(monitor);
  monitor.registerResource = (request, callback) => {
    const wire = request.getObject()?.toJavaScript() ?? {};
    const registration: Registration = {
      type: request.getType(),
      name: request.getName(),
      inputs: Object.fromEntries(Object.entries(wire).map(([key, value]) => [key, unwrap(value)])),
      wire,
      additionalSecretOutputs: request.getAdditionalsecretoutputsList(),
    };
    registrations.push(registration);
    waiting.get(registration.name)?.(registration);
    return register(request, callback);
  };

  return {
    registrations,
    registration: (name) => {
      const found = registrations.find((registration) => registration.name === name);
      return found !== undefined
        ? Promise.resolve(found)
        : new Promise((resolve) => waiting.set(name, resolve));
    },
  };
}

/** True when a wire value is a wrapped secret. */
export function isWireSecret(value: unknown): boolean {
  return (value as Record<string, unknown> | null)?.[SIG_KEY] === SECRET_SIG;
}

/** The value of an `Output` under mocks. */
export function valueOf<T>(output: pulumi.Output<T>): Promise<T> {
  return new Promise((resolve) => output.apply((value) => resolve(value)));
}

function unwrap(value: unknown): unknown {
  return isWireSecret(value) ? (value as { value: unknown }).value : value;
}
