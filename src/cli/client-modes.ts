/**
 * What each syncmux-client mode does, in terms of the engine: -u/-s/-m/-A
 * turn their objects into synthetic log lines (USER, META, MAILBOX) and
 * replicate them; rolling mode (-r/-R, -1, -f, -i) consumes a sync log with
 * Cyrus's hand-off. Exit codes follow stock sync_client 3.6.1.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Mboxlist, mailboxOwner } from '../cyrus/index.js';
import { type Engine, type Replicator, replicateFile, type PassResult } from '../engine/index.js';
import { appendLog } from '../native/index.js';
import { type SyncLogLine, handOffLogAbortable, Waker } from '../synclog/index.js';
import type { ClientOptions } from './client-options.js';
import type { Logger } from './logger.js';
import { EXIT } from './exit-codes.js';


const bin = (text: string) => Buffer.from(text, 'utf8').toString('latin1');

/** -m takes names in the admin namespace (e.g. user/alice/Sent with unixhierarchysep). */
export function internalMailboxName(external: string, engine: Engine): string {
  const cfg = engine.config;
  let name = external;
  let domain: string | null = null;
  if (cfg.virtDomains !== 'off') {
    const at = name.lastIndexOf('@');
    if (at > 0) {
      domain = name.slice(at + 1);
      name = name.slice(0, at);
    }
  }
  if (cfg.unixHierarchySep) name = name.replace(/\./g, '^').replace(/\//g, '.');
  return domain && domain !== cfg.defaultDomain ? `${domain}!${name}` : name;
}

/** One object of -u/-s/-m/-A: a user (or, for shared mailboxes, `@`) and its synthetic log lines. */
interface ObjectJob {
  key: string;
  lines: SyncLogLine[];
  /** What -v prints when it starts, as stock's verbose output does. */
  label: string;
}

/**
 * Replicates the objects over the replicator's connections, at most
 * `inFlight` at a time, in the given order of starting; jobs of one key run
 * one after another (a replicator takes one batch per key at a time).
 * Every object is tried; false if any failed.
 */
async function replicateObjects(jobs: ObjectJob[], replicator: Replicator, log: Logger, inFlight: number): Promise<boolean> {
  let ok = true;
  const lastOfKey = new Map<string, Promise<void>>();
  const running = new Set<Promise<void>>();
  for (const job of jobs) {
    while (running.size >= inFlight) await Promise.race(running);
    const previous = lastOfKey.get(job.key) ?? Promise.resolve();
    const task: Promise<void> = previous.then(async () => {
      log.verbose(job.label);
      const outcome = await replicator.replicate({ key: job.key, lines: job.lines, retry: false });
      if (!outcome.ok) {
        ok = false;
        log.log('err', `IOERROR: user replication failed: ${job.key}: ${outcome.error}`);
      }
    });
    const tracked = task.finally(() => {
      running.delete(tracked);
      if (lastOfKey.get(job.key) === tracked) lastOfKey.delete(job.key);
    });
    running.add(tracked);
    lastOfKey.set(job.key, tracked);
  }
  await Promise.all(running);
  return ok;
}

/**
 * -u, -s, -m, -A: every object is tried; exit 1 if any failed. Users are
 * spread over the replicator's connections (syncmux_client_connections):
 * sync_server applies one connection's commands one at a time, so one
 * connection would seed a replica at its serial speed.
 */
export async function runObjects(o: ClientOptions, engine: Engine, replicator: Replicator, log: Logger, connections: number): Promise<number> {
  const objects = o.inputFile ? readObjectFile(o.inputFile) : o.objects;
  let jobs: ObjectJob[] = [];
  if (o.mode === 'users' || o.mode === 'meta') {
    const type = o.mode === 'users' ? 'USER' : 'META';
    jobs = objects.map((u) => ({ key: u, lines: [{ type, args: [bin(u)] }], label: `${type} ${u}` }));
  } else if (o.mode === 'mailboxes') {
    const byOwner = new Map<string, SyncLogLine[]>();
    for (const m of objects) {
      const name = internalMailboxName(m, engine);
      const owner = mailboxOwner(name, engine.config) ?? '';
      byOwner.set(owner, [...(byOwner.get(owner) ?? []), { type: 'MAILBOX', args: [bin(name)] }]);
    }
    jobs = [...byOwner].map(([owner, lines]) => ({ key: owner, lines, label: `MAILBOX ${lines.map((l) => l.args[0]).join(' ')}` }));
  }
  // A damaged mailboxes.db entry fails the run (exit 1) but not the other users.
  let readable = true;
  if (o.mode === 'allUsers') {
    jobs = await allUserJobs(engine, o.objects[0] ?? '', (err) => {
      log.log('err', `IOERROR: ${err.message}`);
      readable = false;
    });
  }
  const ok = await replicateObjects(jobs, replicator, log, Math.max(1, connections) * 2);
  return ok && readable ? EXIT.OK : EXIT.FAIL;
}

/** -A [prefix]: every user with a live mailbox, and every shared mailbox, in mailboxes.db order. */
async function allUserJobs(engine: Engine, prefix: string, damaged: (err: Error) => void): Promise<ObjectJob[]> {
  const mboxlist = await Mboxlist.open(engine.config);
  const jobs: ObjectJob[] = [];
  let lastUser: string | null = null;
  for (const entry of mboxlist.entriesReporting(damaged)) {
    if (entry.mbtype.deleted || entry.mbtype.intermediate || entry.mbtype.reserve) continue;
    if (prefix && !entry.name.startsWith(prefix)) continue;
    if (entry.name.startsWith(`${engine.config.deletedPrefix}.`) || entry.name.includes(`!${engine.config.deletedPrefix}.`)) continue;
    const owner = mailboxOwner(entry.name, engine.config);
    if (owner) {
      if (owner === lastUser) continue;
      lastUser = owner;
      jobs.push({ key: owner, lines: [{ type: 'USER', args: [bin(owner)] }], label: `USER ${owner}` });
    } else {
      jobs.push({ key: '@', lines: [{ type: 'MAILBOX', args: [bin(entry.name)] }], label: `MAILBOX ${entry.name}` });
    }
  }
  return jobs;
}

function readObjectFile(file: string): string[] {
  return fs.readFileSync(file, 'utf8').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
}

export interface RollingOptions {
  logFile: string;
  shutdownFile: string | null;
  repeatSeconds: number;
  /** syncmux_coalesce_ms: a pass begins this long after the event that woke it. */
  coalesceMs: number;
  signal: AbortSignal;
}

/**
 * Rolling mode. Failed users' lines are re-appended to the log (stock's
 * deferral), so one failing user never holds the others back and nothing
 * is lost; log-run is unlinked only once every line is confirmed or re-queued.
 */
export async function runRolling(o: ClientOptions, engine: Engine, replicator: Replicator, log: Logger, r: RollingOptions): Promise<number> {
  if (o.inputFile) {
    const result = await replicateFile(o.inputFile, replicator, { deletedPrefix: engine.config.deletedPrefix }, { lastLineMayLackLf: true });
    for (const m of result.malformed) log.log('warning', `Invalid input in ${o.inputFile}: ${m.reason}`);
    return result.failed.length ? EXIT.FAIL : EXIT.OK;
  }
  const runFile = runFileOf(r.logFile);
  // Lines `syncmux run` left in its own files would be stranded: a log reader never sees them.
  const stranded = o.shard === undefined ? strandedDaemonFiles(path.dirname(r.logFile)) : [];
  if (stranded.length) {
    const message = `${stranded.join(', ')} in ${path.dirname(r.logFile)} hold lines syncmux run has not replicated; run \`syncmux handback\` first, which puts them into log-run`;
    log.log('err', message);
    process.stderr.write(`Fatal error: ${message}\n`);
    return EXIT.FAIL;
  }
  // One watch for the life of the loop: a new one per idle wait cost two syscalls and a handle per pass.
  const logName = path.basename(r.logFile);
  const waker = new Waker(path.dirname(r.logFile), (name) => name === logName, Math.max(100, r.repeatSeconds * 1000), r.signal, (error) =>
    log.log('warning', `cannot watch ${path.dirname(r.logFile)} (${error.message}); the sync log is picked up by polling every ${r.repeatSeconds} s`),
  r.coalesceMs);
  try {
    for (;;) {
      if (r.signal.aborted) return EXIT.TEMPFAIL;
      if (r.shutdownFile && fs.existsSync(r.shutdownFile)) {
        fs.rmSync(r.shutdownFile, { force: true });
        log.log('notice', 'sync shutdown file found, exiting');
        return EXIT.OK;
      }
      waker.clear(); // what is appended from here on wakes the next wait
      const state = fs.existsSync(runFile) ? 'reprocess' : await handOffLogAbortable(r.logFile, runFile, 30_000, r.signal);
      if (state === 'reprocess') log.log('notice', `Reprocessing sync log file ${runFile}`);
      if (state === 'empty') {
        if (o.once) return EXIT.OK;
        await waker.wait();
        continue;
      }
      const failed = await processRun(engine, replicator, log, runFile, r.logFile);
      // A stop fails the batches still in flight (re-queued above); that is the stop's exit, not a lost replica's.
      if (r.signal.aborted) return EXIT.TEMPFAIL;
      if (o.once) return EXIT.OK;
      if (failed.some((f) => f.unreachable)) {
        // As stock's do_daemon: after a failed pass with the replica gone, exit 0 (a supervisor restarts it).
        log.log('notice', 'the replica went away during a pass; its lines are re-queued, exiting as sync_client does');
        return EXIT.OK;
      }
    }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ECANCELED' && r.signal.aborted) return EXIT.TEMPFAIL;
    throw error;
  } finally {
    waker.close();
  }
}

/** The daemon's files that hold lines (shard logs, retry journals): what `syncmux handback` empties. */
export function strandedDaemonFiles(dir: string): string[] {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return [];
  }
  return names.filter((n) => /^(log|log-run|retry)\.\d+$/.test(n) && fileSize(path.join(dir, n)) > 0).sort();
}

function fileSize(file: string): number {
  try {
    return fs.statSync(file).size;
  } catch {
    return 0;
  }
}

/** `log` → `log-run`, `log.3` → `log-run.3`. */
export function runFileOf(logFile: string): string {
  const m = /^(.*?)(\.\d+)?$/.exec(path.basename(logFile))!;
  return path.join(path.dirname(logFile), `${m[1]}-run${m[2] ?? ''}`);
}

/** Replicates log-run, re-queues the lines of failed batches to the log, removes log-run; returns the failures. */
async function processRun(engine: Engine, replicator: Replicator, log: Logger, runFile: string, logFile: string): Promise<PassResult['failed']> {
  const result = await replicateFile(runFile, replicator, { deletedPrefix: engine.config.deletedPrefix });
  for (const m of result.malformed) log.log('warning', `Invalid input in ${runFile}: ${m.reason}: ${m.line.slice(0, 200)}`);
  if (result.failed.length) {
    const failedKeys = new Set(result.failed.map((f) => f.key));
    // Raw lines are latin1 strings of the log's bytes: written back byte for byte.
    const requeue = result.unconfirmed.map((line) => Buffer.from(`${line}\n`, 'latin1'));
    if (requeue.length) await appendLog(logFile, requeue);
    log.log('notice', `re-queued ${requeue.length} line(s) of ${failedKeys.size} failed user(s): ${[...failedKeys].join(' ')}`);
  }
  await fs.promises.unlink(runFile); // off the event loop: an unlink just after Cyrus's fsyncs can take a millisecond
  return result.failed;
}
