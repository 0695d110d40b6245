// Where a `.cpuprofile` (from `npm run bench -- --profile <dir>`, i.e. `node --cpu-prof`) spent its
// main-thread time: self time by package or file, then the heaviest functions.
//
// Usage: node dist/bench/profile-summary.js <file.cpuprofile> [top=25]
//
// A profile covers the main thread only. Work node hands to its thread pool (WebCrypto's
// verify, fs writes and fsync) does not appear in it, though it does count in the process CPU time
// the benchmark reports, so read the two together.

import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** `node_modules/<package>` for dependencies, the path below the project for our own files. */
function ownerOf(url: string, functionName: string): string {
  if (url === '') return functionName;
  const dependency = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)?.[1];
  if (dependency !== undefined) return dependency;
  const project = url.indexOf('/dist/');
  return project === -1 ? url : url.slice(project + 1);
}

function top(totals: Map<string, number>, all: number, count: number): string {
  return [...totals]
    .sort((a, b) => b[1] - a[1])
    .slice(0, count)
    .map(([name, micros]) => `${((micros / all) * 100).toFixed(1).padStart(5)}%  ${name}`)
    .join('\n');
}

function main(): void {
  const [file, countText] = process.argv.slice(2);
  if (file === undefined) {
    console.error('usage: node dist/bench/profile-summary.js <file.cpuprofile> [top]');
    process.exit(2);
  }
  const count = Number(countText ?? 25);
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;

  const selfMicros = new Map<number, number>();
  profile.samples.forEach((id, index) => {
    selfMicros.set(id, (selfMicros.get(id) ?? 0) + (profile.timeDeltas[index] ?? 0));
  });
  const all = [...selfMicros.values()].reduce((sum, micros) => sum + micros, 0);

  const byOwner = new Map<string, number>();
  const byFunction = new Map<string, number>();
  for (const node of profile.nodes) {
    const micros = selfMicros.get(node.id) ?? 0;
    const { functionName, url, lineNumber } = node.callFrame;
    const owner = ownerOf(url, functionName);
    const where = url === '' ? '' : `  ${owner}:${lineNumber + 1}`;
    const name = `${functionName || '(anonymous)'}${where}`;
    byOwner.set(owner, (byOwner.get(owner) ?? 0) + micros);
    byFunction.set(name, (byFunction.get(name) ?? 0) + micros);
  }

  console.log(`${(all / 1000).toFixed(0)} ms of main-thread samples in ${file}\n`);
  console.log(`Self time by package or file\n${top(byOwner, all, count)}\n`);
  console.log(`Self time by function\n${top(byFunction, all, count)}`);
}

main();
