// The three servers under test, each started as its own child process: the load generator must not
// share their event loop, and each one's memory is read from its own /proc/<pid>/status. Start-up
// is timed from spawn to the first answered request, which is when a client can use the server
// (for the service, `/healthz` answers only once the store is loaded and indexed).

import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import type { Dataset } from './fixtures';

export type ServerKind = 'service' | 'ceiling' | 'json-server';

export const ROOT = path.resolve(__dirname, '..', '..');
const DIST = path.join(ROOT, 'dist');
const SERVICE_ENTRY = path.join(DIST, 'service', 'server.js');
const CEILING_ENTRY = path.join(DIST, 'bench', 'ceiling-server.js');
const JSON_SERVER_ENTRY = path.join(ROOT, 'node_modules', 'json-server', 'lib', 'cli', 'bin.js');

/** A port that answers nothing on loopback: DNS checks, should any run, fail fast and locally. */
const NO_DNS_SERVER = '127.0.0.1:9';

export interface RunningServer {
  kind: ServerKind;
  url: string;
  pid: number;
  /** Spawn to the first 2xx answer, in milliseconds. */
  startupMs: number;
  /** Resident memory once started, before any load, in bytes. */
  idleRssBytes: number;
  /** The highest resident memory by then (VmHWM): what loading the data cost at its worst. */
  startupPeakRssBytes: number;
  /** The highest resident memory the process has had so far (VmHWM), in bytes. */
  peakRss(): number;
  stop(): Promise<void>;
}

export interface ServerOptions {
  dataset: Dataset;
  /** The HS256 secret the service verifies tokens with. */
  jwtSecret: string;
  /** Extra node flags for the service process only, e.g. `--cpu-prof`. */
  serviceNodeArgs?: string[];
}

export async function startServer(
  kind: ServerKind,
  options: ServerOptions,
): Promise<RunningServer> {
  switch (kind) {
    case 'service':
      return launch(kind, [...(options.serviceNodeArgs ?? []), SERVICE_ENTRY], {
        PORT: '0',
        HOST: '127.0.0.1',
        LOG_LEVEL: 'silent',
        NUMONIC_DATA_FILE: options.dataset.storeFile,
        NUMONIC_JWT_SECRET: options.jwtSecret,
        NUMONIC_SES_MODE: 'simulated',
        NUMONIC_RATE_LIMIT_PER_MINUTE: '0',
        NUMONIC_DNS_SERVERS: NO_DNS_SERVER,
      });
    case 'ceiling':
      return launch(kind, [CEILING_ENTRY], {
        PORT: '0',
        HOST: '127.0.0.1',
        DATA_FILE: options.dataset.storeFile,
      });
    case 'json-server': {
      // json-server prints the port it was given, not the one bound, so it gets a free one.
      const port = await freePort();
      return launch(
        kind,
        [
          JSON_SERVER_ENTRY,
          '--quiet',
          ...['--port', String(port), '--host', '127.0.0.1'],
          options.dataset.peerFile,
        ],
        {},
        `http://127.0.0.1:${port}`,
      );
    }
  }
}

async function launch(
  kind: ServerKind,
  args: string[],
  env: Record<string, string>,
  knownUrl?: string,
): Promise<RunningServer> {
  const started = performance.now();
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', ...env },
    // json-server reads stdin for its snapshot command; an ignored stdin keeps it quiet.
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  let exitCode: number | string | undefined;
  const exited = once(child, 'exit').then(([code, signal]) => {
    exitCode = (code ?? signal) as number | string;
  });

  const fail = (why: string) => {
    child.kill('SIGKILL');
    return new Error(`${kind} ${why}:\n${output.slice(-4000)}`);
  };

  let url = knownUrl;
  const probePath = kind === 'json-server' ? '/' : '/healthz';
  for (;;) {
    if (exitCode !== undefined) throw fail(`exited (${exitCode}) before serving`);
    if (performance.now() - started > 120_000) throw fail('did not answer within 120 s');

    url ??= /listening on (http:\/\/\S+)/.exec(output)?.[1];
    if (url !== undefined && (await answers(`${url}${probePath}`))) break;
    await sleep(5);
  }
  const startupMs = performance.now() - started;
  const pid = child.pid as number;

  return {
    kind,
    url,
    pid,
    startupMs,
    idleRssBytes: statusBytes(pid, 'VmRSS'),
    startupPeakRssBytes: statusBytes(pid, 'VmHWM'),
    peakRss: () => statusBytes(pid, 'VmHWM'),
    stop: () => stop(child, exited),
  };
}

async function answers(url: string): Promise<boolean> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(1000) });
    await response.arrayBuffer();
    return response.ok;
  } catch {
    return false;
  }
}

/** SIGTERM (the service finishes in-flight writes and releases its file), SIGKILL after 30 s. */
async function stop(child: ChildProcess, exited: Promise<void>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;

  child.kill('SIGTERM');
  const killer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  await exited;
  clearTimeout(killer);
}

/** A field of /proc/<pid>/status such as `VmRSS` or `VmHWM`, in bytes. */
function statusBytes(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1];
  if (kib === undefined) throw new Error(`no ${field} in /proc/${pid}/status`);
  return Number(kib) * 1024;
}

async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  server.close();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}
