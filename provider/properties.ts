// Property values as the Pulumi engine hands them to a dynamic provider, and back.
//
// Runs in the Pulumi provider process from the serialized provider text; it imports nothing.

/**
 * True for the engine's placeholder of a value not known yet (during `pulumi preview`, an input
 * computed from another resource's output).
 *
 * @example
 * isUnknown('04da6b54-80e4-46f7-96ec-b56ff0331ba9') // true
 */
export function isUnknown(value: unknown): boolean {
  return value === '04da6b54-80e4-46f7-96ec-b56ff0331ba9';
}

/**
 * The plain value of a property: a secret arrives as its value when the host does not accept
 * secrets (the dynamic-provider host does not), or wrapped as `{ [sig]: secretSig, value }` when
 * it does; both read the same here.
 *
 * @example
 * const sig = '4dabf18193072939515e22adb298388d';
 * plainValue({ [sig]: '1b47061264138c4ac30d75fd1eb44270', value: 'x' }) // 'x'
 */
export function plainValue(value: unknown): unknown {
  const wrapped = value as Record<string, unknown> | null;
  if (
    typeof wrapped === 'object' &&
    wrapped !== null &&
    wrapped['4dabf18193072939515e22adb298388d'] === '1b47061264138c4ac30d75fd1eb44270'
  ) {
    return wrapped.value;
  }
  return value;
}

/**
 * A copy without the `undefined` values, which a `google.protobuf.Struct` cannot carry: an
 * optional output or input that is absent is left out, not sent as `undefined`.
 *
 * @example
 * compact({ domainName: 'yourapp.com', apiUrl: undefined }) // { domainName: 'yourapp.com' }
 */
export function compact<T extends Record<string, unknown>>(values: T): Partial<T> {
  const result: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(values)) {
    if (value !== undefined) {
      result[key] = value;
    }
  }
  return result as Partial<T>;
}

/**
 * Whether two property values are the same for a diff: secrets compared by their value, and an
 * absent value the same as `null`.
 *
 * @example
 * sameValue(undefined, null) // true
 */
export function sameValue(a: unknown, b: unknown): boolean {
  const left = plainValue(a) ?? null;
  const right = plainValue(b) ?? null;
  return JSON.stringify(left) === JSON.stringify(right);
}

/**
 * The `code` of an error thrown by the client or the providers, or `undefined`.
 *
 * @example
 * if (errorCode(error) === 'NOT_FOUND') return {};
 */
export function errorCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}
