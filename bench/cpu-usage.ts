// Who used the CPU during one measurement: the server under test, this process (autocannon), and
// everything else on the machine. The machine is shared and has 2 cores, so "other" is what tells
// a reader whether a figure was taken on a quiet machine. Linux only: /proc/stat and
// /proc/<pid>/stat count in clock ticks, USER_HZ, which is 100 on every mainstream Linux build.

import { readFileSync } from 'node:fs';

const TICKS_PER_SECOND = 100;

export interface CpuSnapshot {
  atMs: number;
  machineTicks: number;
  serverTicks: number;
  selfMicros: number;
}

/** Cores used on average over an interval: 1.0 is one core busy the whole time. */
export interface CpuShare {
  server: number;
  loadGenerator: number;
  other: number;
}

function machineBusyTicks(): number {
  const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0] ?? '';
  // cpu user nice system idle iowait irq softirq steal ...: idle and iowait are not busy.
  const ticks = line.trim().split(/\s+/).slice(1).map(Number);
  const [user, nice, system, , , irq, softirq, steal] = ticks;
  return [user, nice, system, irq, softirq, steal].reduce<number>((sum, n) => sum + (n ?? 0), 0);
}

function processTicks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name, which may hold spaces, start at field 3; utime and stime are
  // fields 14 and 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]);
}

export function cpuSnapshot(serverPid: number): CpuSnapshot {
  const usage = process.cpuUsage();
  return {
    atMs: performance.now(),
    machineTicks: machineBusyTicks(),
    serverTicks: processTicks(serverPid),
    selfMicros: usage.user + usage.system,
  };
}

export function cpuShare(before: CpuSnapshot, after: CpuSnapshot): CpuShare {
  const seconds = (after.atMs - before.atMs) / 1000;
  const server = (after.serverTicks - before.serverTicks) / TICKS_PER_SECOND / seconds;
  const loadGenerator = (after.selfMicros - before.selfMicros) / 1e6 / seconds;
  const machine = (after.machineTicks - before.machineTicks) / TICKS_PER_SECOND / seconds;
  return { server, loadGenerator, other: Math.max(0, machine - server - loadGenerator) };
}

/**
 * Waits, up to `maxWaitMs`, for a second in which the rest of the machine used less than a quarter
 * of a core, so a measurement does not start in the middle of someone's compile or test run.
 * Resolves with the cores the rest of the machine used in the last second sampled.
 */
export async function waitForQuietMachine(maxWaitMs: number): Promise<number> {
  const deadline = performance.now() + maxWaitMs;
  for (;;) {
    const before = cpuSnapshot(process.pid);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const after = cpuSnapshot(process.pid);
    const seconds = (after.atMs - before.atMs) / 1000;
    const others = (after.machineTicks - before.machineTicks) / TICKS_PER_SECOND / seconds;
    const busy = Math.max(0, others - (after.selfMicros - before.selfMicros) / 1e6 / seconds);
    if (busy < 0.25 || performance.now() >= deadline) return busy;
  }
}
