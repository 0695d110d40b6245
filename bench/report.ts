// Turns a run's figures into the console table and `bench/RESULTS.md`. Every ratio is
// "this row's 2xx req/s divided by the reference's 2xx req/s at the same N and route".

import { ROUTE_LABELS, ROUTES } from './load';
import {
  evaluateTargets,
  peakOf,
  rate,
  SERVER_KINDS,
  type BenchRun,
  type RouteFigures,
} from './results';

const MB = 1_000_000;
const TARGET_HEAD = ['target', 'measured', 'verdict', 'by how much'];

type Table = { head: string[]; rows: string[][] };

function mb(bytes: number): string {
  return (bytes / MB).toFixed(1);
}

function ms(value: number): string {
  if (Number.isNaN(value)) return '-';
  return value < 10 ? value.toFixed(1) : value.toFixed(0);
}

function ratio(row: RouteFigures | undefined, reference: RouteFigures | undefined): string {
  if (row === undefined || reference === undefined) return '-';
  if (reference.okPerSecond === 0) return row.okPerSecond === 0 ? '-' : 'inf';
  return `${(row.okPerSecond / reference.okPerSecond).toFixed(2)}x`;
}

function sizeLabel(size: number): string {
  return size % 1000 === 0 ? `${size / 1000}k` : String(size);
}

function loadTable(run: BenchRun): Table {
  const head = ['N', 'route', 'server', 'ok req/s', 'p50 ms', 'p99 ms', 'non-2xx', 'errors'];
  head.push('peak RSS MB', 'CPU srv/gen/other', 'x ceiling', 'x json-server');
  const rows: string[][] = [];

  for (const round of run.rounds) {
    for (const route of ROUTES) {
      for (const kind of SERVER_KINDS) {
        const figures = round.servers[kind];
        if (figures === undefined) continue;
        const row = figures.routes[route];
        if (row === undefined) {
          const why = figures.failure ?? 'not run';
          const blanks = new Array<string>(head.length - 4).fill('');
          rows.push([sizeLabel(round.size), ROUTE_LABELS[route], kind, why, ...blanks]);
          continue;
        }
        rows.push([
          sizeLabel(round.size),
          ROUTE_LABELS[route],
          kind,
          row.okPerSecond.toFixed(0),
          ms(row.p50Ms),
          ms(row.p99Ms),
          String(row.non2xx),
          row.timeouts > 0 ? `${row.errors} (${row.timeouts} timeouts)` : String(row.errors),
          mb(row.peakRssBytes),
          [row.cpu.server, row.cpu.loadGenerator, row.cpu.other].map((n) => n.toFixed(2)).join('/'),
          ratio(row, rate(run, round.size, 'ceiling', route)),
          ratio(row, rate(run, round.size, 'json-server', route)),
        ]);
      }
    }
  }
  return { head, rows };
}

function serverTable(run: BenchRun): Table {
  const head = ['N', 'server', 'start-up ms', 'file loaded MB', 'idle RSS MB'];
  head.push('start-up peak RSS MB', 'peak RSS MB');
  const rows = run.rounds.flatMap((round) =>
    SERVER_KINDS.flatMap((kind) => {
      const figures = round.servers[kind];
      if (figures === undefined) return [];
      return [
        [
          sizeLabel(round.size),
          kind,
          Number.isNaN(figures.startupMs) ? '-' : figures.startupMs.toFixed(0),
          mb(figures.fileBytes),
          mb(figures.idleRssBytes),
          mb(figures.startupPeakRssBytes),
          mb(peakOf(figures)),
        ],
      ];
    }),
  );
  return { head, rows };
}

function writeCostTable(run: BenchRun): Table {
  const head = ['N', 'parse ms', 'serialize ms', 'write ms', 'fsync ms', 'one write ms'];
  head.push('service POST req/s', 'POSTs per write (implied)');
  const rows = run.rounds.map((round) => {
    const cost = round.writeCost;
    const oneWrite = cost.serializeMs + cost.writeMs + cost.fsyncMs;
    const post = round.servers.service?.routes.post?.okPerSecond;
    return [
      sizeLabel(round.size),
      ms(cost.parseMs),
      ms(cost.serializeMs),
      ms(cost.writeMs),
      ms(cost.fsyncMs),
      ms(oneWrite),
      post === undefined ? '-' : post.toFixed(0),
      post === undefined ? '-' : ((post * oneWrite) / 1000).toFixed(1),
    ];
  });
  return { head, rows };
}

/** Aligned plain text, for the terminal. */
export function renderText(table: Table): string {
  const widths = table.head.map((cell, column) =>
    Math.max(cell.length, ...table.rows.map((row) => (row[column] ?? '').length)),
  );
  const line = (cells: string[]) =>
    cells.map((cell, column) => cell.padEnd(widths[column] ?? 0)).join('  ');
  return [line(table.head), line(widths.map((width) => '-'.repeat(width))), ...table.rows.map(line)]
    .join('\n')
    .trimEnd();
}

function renderMarkdown(table: Table): string {
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  return [line(table.head), line(table.head.map(() => '---')), ...table.rows.map(line)].join('\n');
}

function engineLine(run: BenchRun): string {
  const engine = run.engine;
  if ('missing' in engine) return `Not measured: ${engine.missing}`;
  return (
    `${engine.creates} \`NumonicDomain\` creates, ${engine.parallelism} at a time, through the ` +
    'Pulumi dynamic-provider host against the service preloaded with ' +
    `${engine.preloaded} domains: ` +
    `total ${ms(engine.totalMs)} ms, per create p50 ${ms(engine.p50Ms)} ms, ` +
    `p99 ${ms(engine.p99Ms)} ms, ${engine.failures} failed.`
  );
}

export function printRun(run: BenchRun): void {
  console.log('\nLoad (2xx only; ratios are req/s against the same route and N)\n');
  console.log(renderText(loadTable(run)));
  console.log('\nServers\n');
  console.log(renderText(serverTable(run)));
  console.log('\nOne whole-document store write, timed in the benchmark process\n');
  console.log(renderText(writeCostTable(run)));
  console.log(`\nEngine path: ${engineLine(run)}\n`);
  console.log('Targets\n');
  const targets = evaluateTargets(run).map((check) => [
    check.target,
    check.measured,
    check.verdict,
    check.note,
  ]);
  console.log(renderText({ head: TARGET_HEAD, rows: targets }));
}

/** The text of `bench/RESULTS.md`; `notes` is the closing paragraph on missed targets. */
export function renderResults(run: BenchRun, notes: string): string {
  const { machine } = run;
  const memory = `${(machine.memoryBytes / 2 ** 30).toFixed(0)} GiB memory`;
  const targets = evaluateTargets(run).map((check) => [
    check.target,
    check.measured,
    `**${check.verdict}**`,
    check.note,
  ]);

  return `# Benchmark results

Written by \`npm run bench\` (see [README.md](README.md) for what each figure means). Figures come
from one run, so the ratios compare servers measured minutes apart on the same machine.

- Date: ${run.date}
- Machine: ${machine.cpus} CPUs (${machine.cpuModel}), ${memory}, Linux ${machine.kernel}
- Node ${machine.node}; data files on ${machine.dataFileSystem}
- Load: autocannon, ${run.connections} connections, ${run.durationSeconds} s per route and server,
  on 127.0.0.1; each server alone in its own process while loaded

## Load

Throughput and latency count 2xx answers only; non-2xx answers and connection errors are shown
beside them. "x ceiling" and "x json-server" divide the row's req/s by that server's at the same
route and N. Peak RSS is the server's VmHWM once that route's load ended. "CPU srv/gen/other" is
the cores used during the load by the server, by autocannon, and by everything else on the machine
(other engineers' work included): with 2 cores, a high "other" means the figure was squeezed.

${renderMarkdown(loadTable(run))}

## Start-up, files and memory

Start-up is spawn to the first answered request. The ceiling loads the service's store file.

${renderMarkdown(serverTable(run))}

## What one store write costs

The service writes its whole document for each group of concurrent changes. Timed in the benchmark
process on each round's store file with the store's own parser and serializer (median of 3).
"POSTs per write" is the POST rate times one write's time: how many creates shared each write.

${renderMarkdown(writeCostTable(run))}

## Engine path

${engineLine(run)}

## Targets

${renderMarkdown({ head: TARGET_HEAD, rows: targets })}

${notes.trim()}
`;
}
