/**
 * CPU accounting for the end-to-end bench, read from /proc: the client's own
 * process (all its threads) and the replica's Cyrus processes (sync_server
 * lives on between connections, so before/after deltas per pid work).
 * Reported so a reader can see who the burst was waiting for.
 */
import fs from 'node:fs';
import { pidsWithArgument } from '../../lab/cyrus-lab.js';

const TICK = 100; // USER_HZ on Linux

/** utime + stime in seconds from a /proc stat file (a process's or a thread's); throws once it is gone. */
function statCpuSeconds(file: string): number {
  const stat = fs.readFileSync(file, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / TICK;
}

/** utime + stime of one process in seconds, or 0 once it is gone. */
export function processCpuSeconds(pid: number | undefined): number {
  if (!pid) return 0;
  try {
    return statCpuSeconds(`/proc/${pid}/stat`);
  } catch {
    return 0;
  }
}

/** utime + stime in seconds of each thread of a process, by thread id (its main thread's id is the pid). */
export function threadCpuSeconds(pid: number | undefined): Map<number, number> {
  const out = new Map<number, number>();
  if (!pid) return out;
  let tids: string[] = [];
  try {
    tids = fs.readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const tid of tids) {
    try {
      out.set(Number(tid), statCpuSeconds(`/proc/${pid}/task/${tid}/stat`));
    } catch {
      // the thread ended between the listing and the read
    }
  }
  return out;
}

/** CPU seconds per pid of every process with `arg` among its arguments (e.g. the replica's imapd.conf). */
export function cpuByCommandLine(arg: string): Map<number, number> {
  return new Map(pidsWithArgument(arg).map((pid) => [pid, processCpuSeconds(pid)]));
}

/** CPU spent between two snapshots (processes that appeared count from zero). */
export function cpuDelta(before: Map<number, number>, after: Map<number, number>): number {
  let sum = 0;
  for (const [pid, t] of after) sum += Math.max(0, t - (before.get(pid) ?? 0));
  return sum;
}
