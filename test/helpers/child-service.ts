import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';

/** The compiled server entry, as `npm start` runs it. */
export const SERVER_ENTRY = path.resolve(__dirname, '..', '..', 'service', 'server.js');

export interface LaunchedService {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  /** Resolves with the exit code, or the signal's name. */
  exited: Promise<number | string>;
}

export interface ChildService extends LaunchedService {
  /** The listen URL the service printed. */
  url: string;
}

/** Starts the service entry as its own process with exactly `env` (plus PATH) in `cwd`. */
export function launchService(env: Record<string, string>, cwd: string): LaunchedService {
  const child = spawn(process.execPath, [SERVER_ENTRY], {
    cwd,
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exited = once(child, 'exit').then(([code, signal]) => (code ?? signal) as number | string);

  return { child, stdout: () => stdout, stderr: () => stderr, exited };
}

/** Starts the service entry and waits until it listens; rejects with its output if it exits. */
export async function spawnService(
  env: Record<string, string>,
  cwd: string,
): Promise<ChildService> {
  const launched = launchService(env, cwd);

  const url = await new Promise<string>((resolve, reject) => {
    const poll = setInterval(() => {
      const match = /listening on (http:\/\/\S+)/.exec(launched.stdout());
      if (match?.[1] !== undefined) {
        clearInterval(poll);
        resolve(match[1]);
      }
    }, 10);
    void launched.exited.then((code) => {
      clearInterval(poll);
      reject(new Error(`service exited (${code}) before listening:\n${launched.stderr()}`));
    });
  });

  return { ...launched, url };
}
