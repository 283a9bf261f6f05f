/**
 * Helpers for real-Cyrus tests of `syncmux run`: start the daemon as a child
 * (verbose, so its log lines are kept for assertion messages), wait for a
 * condition, wait until the channel is drained, ask stock sync_client what it
 * would still send, and list root-owned files in the master's trees.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import type { CyrusLab } from '../../lab/cyrus-lab.js';
import * as assert from 'uvu/assert';
import { compareLab } from '../../lab/compare.js';
import { channelDrained } from '../../lab/lab-ops.js';
import { masterTrees, rootOwned } from '../cyrus/support/reader-view.js';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', '..');
export const SYNCMUX = path.join(root, 'src', 'cli', 'syncmux.ts');

export interface Daemon {
  child: ChildProcess;
  /** Resolves with the exit code, or the signal name when killed. */
  exited: Promise<number | string | null>;
  /** The last 20 kB of its stdout and stderr (with -v: every log line). */
  output(): string;
  /** Every line that reports a failure, a fault or a worker restart; none on a healthy path. */
  problems: string[];
}

const PROBLEM = /IOERROR|SYNCERROR|failed|fatal|restarting|quarantin|error/i;

export function startDaemon(lab: CyrusLab, shards: number): Daemon {
  const args = ['--import', 'tsx', SYNCMUX, 'run', '-v', '-C', lab.master.paths.imapdConf, '-n', lab.channel, '--shards', String(shards)];
  const child = spawn(process.execPath, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  let text = '';
  const problems: string[] = [];
  const partial = { stdout: '', stderr: '' };
  const keep = (stream: 'stdout' | 'stderr') => (c: Buffer) => {
    text = (text + c.toString()).slice(-20_000);
    const lines = (partial[stream] + c.toString()).split('\n');
    partial[stream] = lines.pop()!;
    problems.push(...lines.filter((l) => PROBLEM.test(l)));
  };
  child.stdout!.on('data', keep('stdout'));
  child.stderr!.on('data', keep('stderr'));
  const exited = new Promise<number | string | null>((resolve) => child.on('exit', (code, signal) => resolve(code ?? signal)));
  return { child, exited, output: () => text, problems };
}

/** Stops a daemon with SIGTERM (exit 75) unless it is gone already. */
export async function stopDaemon(d: Daemon): Promise<number | string | null> {
  if (d.child.exitCode === null && d.child.signalCode === null) d.child.kill('SIGTERM');
  return d.exited;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function waitFor(what: string, ok: () => boolean | Promise<boolean>, ms = 60_000, pollMs = 50): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(pollMs);
  }
}

/** Drained, and still drained a moment later (a replicated rename can log follow-up lines). */
export async function waitChannelDrained(lab: CyrusLab, ms = 90_000): Promise<void> {
  await waitFor('the channel to drain', () => channelDrained(lab), ms);
  await sleep(300);
  await waitFor('the channel to stay drained', () => channelDrained(lab), ms);
}

/**
 * What stock sync_client would still send for these arguments (`-v -v` is
 * added): the APPLY lines of its protocol trace that change replica state,
 * truncated. Empty means stock agrees the replica is up to date.
 */
export function stockWouldSend(lab: CyrusLab, args: string[], kinds = /^>\d+>APPLY (MESSAGE|MAILBOX|RENAME|UNMAILBOX)\b/): { status: number; sent: string[]; stderr: string } {
  const r = lab.stockSyncClient(['-v', '-v', ...args], { check: false });
  const sent = r.stderr.split('\n').filter((l) => kinds.test(l)).map((l) => l.slice(0, 160));
  return { status: r.status, sent, stderr: r.stderr };
}

/** Paths owned by uid 0 under the master's configdirectory, spool and sieve dirs. */
export const rootOwnedInMaster = (lab: CyrusLab): string[] => rootOwned(masterTrees(lab));

/** Master == replica over IMAP, and stock `sync_client -u` would send nothing more for any of `users`. */
export async function assertReplicaCaughtUp(lab: CyrusLab, daemon: Daemon, users: readonly string[], where: string): Promise<void> {
  const cmp = await compareLab(lab);
  assert.equal(cmp.differences, [], `${where}\n${daemon.output().slice(-4000)}`);
  for (const u of users) {
    const stock = stockWouldSend(lab, ['-u', u]);
    assert.is(stock.status, 0, `${where}: stock -u ${u}: ${stock.stderr.slice(-2000)}`);
    assert.equal(stock.sent, [], `${where}: stock sync_client -u ${u} still had work`);
  }
}
