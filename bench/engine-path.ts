// The engine-path line: `NumonicDomain` creates sent the way `pulumi up --parallel 10` sends them,
// through the SDK's own dynamic-provider host (a child process, over gRPC) to the service (another
// child process). Each create is what the engine does for a new resource: Check, then Create with
// the checked inputs. The first creates include the host's one-time load of the provider text,
// as a real deployment's do.

import { randomBytes } from 'node:crypto';

import { NumonicDomain } from '../provider';
import { mintToken } from '../service/dev-token';
import {
  providerTextOf,
  secret,
  startProviderHost,
  type ProviderHost,
} from '../test/helpers/provider-host';
import { prepareDataset } from './fixtures';
import type { EngineFigures } from './results';
import { startServer } from './servers';

const CREATES = 50;
const PARALLELISM = 10;
const TYPE = 'pulumi-nodejs:dynamic/numonic:NumonicDomain';

function percentile(sorted: number[], share: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil(share * sorted.length) - 1)] as number;
}

/** Runs the creates against a service preloaded with `preloaded` domains, in `folder`. */
export async function runEnginePath(preloaded: number, folder: string): Promise<EngineFigures> {
  const dataset = await prepareDataset(preloaded, folder);
  const jwtSecret = randomBytes(32).toString('hex');
  const service = await startServer('service', { dataset, jwtSecret });
  let host: ProviderHost | undefined;

  try {
    const token = await mintToken(jwtSecret, { tenantId: dataset.tenants[0], expiresIn: '1h' });
    const providerText = await providerTextOf('NumonicDomain', () => {
      return new NumonicDomain('bench', { domainName: 'bench.numonic-bench.com' });
    });
    host = await startProviderHost({
      providerText,
      type: TYPE,
      config: { 'numonic:apiUrl': service.url, 'numonic:apiToken': secret(token) },
    });
    const engine = host;

    const tag = randomBytes(4).toString('hex');
    const durations: number[] = [];
    let failures = 0;
    let next = 0;
    const worker = async () => {
      while (next < CREATES) {
        next += 1;
        const name = `engine-${tag}-${next}.numonic-bench.com`;
        const started = performance.now();
        try {
          const checked = await engine.check({}, { domainName: name });
          if (checked.failures.length > 0) throw new Error(JSON.stringify(checked.failures));
          const created = await engine.create(checked.inputs);
          if (!/^\d+$/.test(created.id)) throw new Error(`unexpected id ${created.id}`);
          durations.push(performance.now() - started);
        } catch (error) {
          failures += 1;
          console.error(`[bench] engine-path create of ${name} failed: ${String(error)}`);
        }
      }
    };

    const started = performance.now();
    await Promise.all(Array.from({ length: PARALLELISM }, worker));
    const totalMs = performance.now() - started;

    const sorted = durations.sort((a, b) => a - b);
    return {
      creates: CREATES,
      parallelism: PARALLELISM,
      preloaded,
      totalMs,
      p50Ms: sorted.length > 0 ? percentile(sorted, 0.5) : Number.NaN,
      p99Ms: sorted.length > 0 ? percentile(sorted, 0.99) : Number.NaN,
      failures,
    };
  } finally {
    await host?.close();
    await service.stop();
  }
}
