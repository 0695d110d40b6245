// The figures of one benchmark run, and the targets judged against them. Targets are
// judged only from figures this run measured; a size or a line the run skipped is "not measured",
// never a pass.

import type { CpuShare } from './cpu-usage';
import type { LoadResult, Route } from './load';
import type { ServerKind } from './servers';
import type { WriteCost } from './write-cost';

export const SERVER_KINDS: readonly ServerKind[] = ['service', 'ceiling', 'json-server'];

export interface RouteFigures extends LoadResult {
  /** The server's peak resident memory (VmHWM) once this route's load ended, in bytes. */
  peakRssBytes: number;
  /** Cores used during the load by the server, autocannon, and the rest of the machine. */
  cpu: CpuShare;
}

export interface ServerFigures {
  startupMs: number;
  idleRssBytes: number;
  /** VmHWM once serving: the peak of loading the data. */
  startupPeakRssBytes: number;
  /** The file this server loaded at start-up, in bytes. */
  fileBytes: number;
  routes: Partial<Record<Route, RouteFigures>>;
  /** Why the round of this server stopped early, when it did. */
  failure?: string;
}

export interface Round {
  size: number;
  servers: Partial<Record<ServerKind, ServerFigures>>;
  writeCost: WriteCost;
}

export interface EngineFigures {
  creates: number;
  parallelism: number;
  /** Domains preloaded in the service the creates ran against. */
  preloaded: number;
  totalMs: number;
  p50Ms: number;
  p99Ms: number;
  failures: number;
}

export interface Machine {
  cpus: number;
  cpuModel: string;
  memoryBytes: number;
  node: string;
  kernel: string;
  /** File system of the folder holding the data files, where durable writes land. */
  dataFileSystem: string;
}

export interface BenchRun {
  date: string;
  machine: Machine;
  connections: number;
  durationSeconds: number;
  rounds: Round[];
  /** The engine-path line, or why it could not run. */
  engine: EngineFigures | { missing: string };
}

export type Verdict = 'met' | 'missed' | 'not measured' | 'reported';

export interface TargetCheck {
  target: string;
  measured: string;
  verdict: Verdict;
  /** By how much it was met or missed, and any caveat. */
  note: string;
}

const MB = 1_000_000;
const POST_100K = '100k: POST figures reported with the reason they fall off';

export function rate(run: BenchRun, size: number, kind: ServerKind, route: Route) {
  return run.rounds.find((round) => round.size === size)?.servers[kind]?.routes[route];
}

/** `value` against a lower bound `floor`: positive when above it, as a share of the floor. */
function margin(value: number, floor: number): string {
  const share = (value - floor) / floor;
  return `${share >= 0 ? '+' : ''}${(share * 100).toFixed(0)}% against the target`;
}

/** Requests answered per second of the server's own CPU time: steadier on a busy machine. */
function perCpuSecond(figures: RouteFigures): number {
  return figures.cpu.server > 0 ? figures.okPerSecond / figures.cpu.server : Number.NaN;
}

function ratioCheck(
  target: string,
  numerator: RouteFigures | undefined,
  denominator: RouteFigures | undefined,
  floor: number,
  cpuBound = false,
): TargetCheck {
  if (numerator === undefined || denominator === undefined) {
    return { target, measured: '-', verdict: 'not measured', note: 'not in this run' };
  }
  const errors = numerator.non2xx + numerator.errors;
  const caveat = errors > 0 ? `; the service had ${errors} non-2xx/errors, not counted` : '';
  if (denominator.okPerSecond === 0) {
    return {
      target,
      measured: `${numerator.okPerSecond.toFixed(0)} vs 0 req/s`,
      verdict: numerator.okPerSecond > 0 ? 'met' : 'missed',
      note: `the reference completed no request${caveat}`,
    };
  }
  const ratio = numerator.okPerSecond / denominator.okPerSecond;
  // For CPU-bound routes the same ratio per CPU-second cross-checks a figure a busy machine
  // squeezed; it counts every thread of the server, so work moved to the thread pool shows too.
  const perCpu = perCpuSecond(numerator) / perCpuSecond(denominator);
  const cross =
    cpuBound && Number.isFinite(perCpu) ? `; per server CPU-second ${perCpu.toFixed(2)}x` : '';
  return {
    target,
    measured:
      `${ratio.toFixed(2)}x (${numerator.okPerSecond.toFixed(0)} / ` +
      `${denominator.okPerSecond.toFixed(0)} req/s)`,
    verdict: ratio >= floor ? 'met' : 'missed',
    note: `${margin(ratio, floor)}${cross}${caveat}`,
  };
}

function ceilingCheck(target: string, value: number | undefined, limit: number, unit: string) {
  if (value === undefined) {
    return { target, measured: '-', verdict: 'not measured' as const, note: 'not in this run' };
  }
  if (Number.isNaN(value)) {
    return { target, measured: '-', verdict: 'missed' as const, note: 'nothing succeeded' };
  }
  const share = (value - limit) / limit;
  return {
    target,
    measured: `${value.toFixed(0)} ${unit}`,
    verdict: value <= limit ? ('met' as const) : ('missed' as const),
    note:
      value <= limit
        ? `${(-share * 100).toFixed(0)}% under the limit`
        : `${(share * 100).toFixed(0)}% over the limit`,
  };
}

export function evaluateTargets(run: BenchRun): TargetCheck[] {
  const checks: TargetCheck[] = [];
  const connectionsNote =
    run.connections === 50 ? '' : ` (measured with ${run.connections} connections, not 50)`;

  checks.push(
    ratioCheck(
      'GET by id at 10k: service >= 0.6x the ceiling',
      rate(run, 10_000, 'service', 'get'),
      rate(run, 10_000, 'ceiling', 'get'),
      0.6,
      true,
    ),
    ratioCheck(
      'GET by id at 10k: service >= 3x json-server',
      rate(run, 10_000, 'service', 'get'),
      rate(run, 10_000, 'json-server', 'get'),
      3,
      true,
    ),
    ratioCheck(
      `Durable POST at 10k, 50 connections: service >= 20x json-server${connectionsNote}`,
      rate(run, 10_000, 'service', 'post'),
      rate(run, 10_000, 'json-server', 'post'),
      20,
    ),
  );

  const post10k = rate(run, 10_000, 'service', 'post');
  checks.push(
    ceilingCheck(
      `Durable POST at 10k, 50 connections: p99 <= 250 ms${connectionsNote}`,
      post10k?.p99Ms,
      250,
      'ms',
    ),
    ratioCheck(
      'List of one tenant at 10k: >= 0.5x the service GET-by-id rate',
      rate(run, 10_000, 'service', 'list'),
      rate(run, 10_000, 'service', 'get'),
      0.5,
      true,
    ),
  );

  const big = run.rounds.find((round) => round.size === 100_000)?.servers.service;
  const rss = ceilingCheck(
    '100k: service peak RSS <= 300 MB (whole run, POST included)',
    big === undefined ? undefined : peakOf(big) / MB,
    300,
    'MB',
  );
  if (big !== undefined) {
    const afterReads = big.routes.list?.peakRssBytes ?? big.startupPeakRssBytes;
    rss.note +=
      `; idle after start-up ${(big.idleRssBytes / MB).toFixed(0)} MB, peak by then ` +
      `${(big.startupPeakRssBytes / MB).toFixed(0)} MB, after the reads ` +
      `${(afterReads / MB).toFixed(0)} MB`;
  }
  checks.push(ceilingCheck('100k: service start-up <= 2 s', big?.startupMs, 2000, 'ms'), rss);

  const post100k = big?.routes.post;
  checks.push(
    post100k === undefined
      ? { target: POST_100K, measured: '-', verdict: 'not measured', note: 'not in this run' }
      : {
          target: POST_100K,
          measured: `${post100k.okPerSecond.toFixed(0)} POST/s, p99 ${post100k.p99Ms} ms`,
          verdict: 'reported',
          note:
            post10k === undefined
              ? 'see "Why POST falls off with N"'
              : `${(post100k.okPerSecond / post10k.okPerSecond).toFixed(2)}x the 10k rate; ` +
                'see "Why POST falls off with N"',
        },
  );

  return checks;
}

/** The highest VmHWM seen over a server's life: start-up, then each route. */
export function peakOf(figures: ServerFigures): number {
  return Math.max(
    figures.startupPeakRssBytes,
    ...Object.values(figures.routes).map((route) => route.peakRssBytes),
  );
}
