/**
 * What each syncmux-client mode does, in terms of the engine: -u/-s/-m/-A
 * turn their objects into synthetic log lines (USER, META, MAILBOX) and
 * replicate them; rolling mode (-r/-R, -1, -f, -i) consumes a sync log with
 * Cyrus's hand-off. Exit codes follow stock sync_client 3.6.1.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Mboxlist } from '../cyrus/mboxlist.js';
import { mailboxOwner } from '../cyrus/names.js';
import type { Engine } from '../engine/engine.js';
import type { Replicator } from '../engine/replicator.js';
import { replicateFile, type PassResult } from '../engine/log-pass.js';
import { appendLog, handOffLog } from '../native/index.js';
import type { SyncLogLine } from '../synclog/index.js';
import { Waker } from '../synclog/waker.js';
import type { ClientOptions } from './client-options.js';
import type { Logger } from './logger.js';

export const EXIT = { OK: 0, FAIL: 1, USAGE: 64, SOFTWARE: 70, TEMPFAIL: 75, CONFIG: 78 } as const;

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

async function replicateLines(engine: Engine, log: Logger, key: string, lines: SyncLogLine[]): Promise<boolean> {
  const outcome = await engine.replicate({ key, lines, retry: false });
  if (!outcome.ok) log.log('err', `IOERROR: user replication failed: ${key}: ${outcome.error}`);
  return outcome.ok;
}

/** -u, -s, -m, -A: every object is tried; exit 1 if any failed. */
export async function runObjects(o: ClientOptions, engine: Engine, log: Logger): Promise<number> {
  const objects = o.inputFile ? readObjectFile(o.inputFile) : o.objects;
  let ok = true;
  if (o.mode === 'users' || o.mode === 'meta') {
    const type = o.mode === 'users' ? 'USER' : 'META';
    for (const u of objects) {
      log.verbose(`${type} ${u}`);
      ok = (await replicateLines(engine, log, u, [{ type, args: [bin(u)] }])) && ok;
    }
  } else if (o.mode === 'mailboxes') {
    const lines = objects.map((m) => ({ type: 'MAILBOX' as const, args: [bin(internalMailboxName(m, engine))] }));
    const byOwner = new Map<string, SyncLogLine[]>();
    for (const l of lines) {
      const owner = mailboxOwner(Buffer.from(l.args[0]!, 'latin1').toString('utf8'), engine.config) ?? '';
      byOwner.set(owner, [...(byOwner.get(owner) ?? []), l]);
    }
    for (const [owner, ls] of byOwner) ok = (await replicateLines(engine, log, owner, ls)) && ok;
  } else if (o.mode === 'allUsers') {
    ok = await runAllUsers(engine, log, o.objects[0] ?? '');
  }
  return ok ? EXIT.OK : EXIT.FAIL;
}

async function runAllUsers(engine: Engine, log: Logger, prefix: string): Promise<boolean> {
  const mboxlist = Mboxlist.open(engine.config);
  let ok = true;
  let lastUser: string | null = null;
  const damaged = (err: Error): void => {
    log.log('err', `IOERROR: ${err.message}`);
    ok = false;
  };
  for (const entry of mboxlist.entriesReporting(damaged)) {
    if (entry.mbtype.deleted || entry.mbtype.intermediate || entry.mbtype.reserve) continue;
    if (prefix && !entry.name.startsWith(prefix)) continue;
    if (entry.name.startsWith(`${engine.config.deletedPrefix}.`) || entry.name.includes(`!${engine.config.deletedPrefix}.`)) continue;
    const owner = mailboxOwner(entry.name, engine.config);
    if (owner) {
      if (owner === lastUser) continue;
      lastUser = owner;
      log.verbose(`USER ${owner}`);
      ok = (await replicateLines(engine, log, owner, [{ type: 'USER', args: [bin(owner)] }])) && ok;
    } else {
      ok = (await replicateLines(engine, log, `@`, [{ type: 'MAILBOX', args: [bin(entry.name)] }])) && ok;
    }
  }
  return ok;
}

function readObjectFile(file: string): string[] {
  return fs.readFileSync(file, 'utf8').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
}

export interface RollingOptions {
  logFile: string;
  shutdownFile: string | null;
  repeatSeconds: number;
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
  // One watch for the life of the loop: a new one per idle wait cost two syscalls and a handle per pass.
  const logName = path.basename(r.logFile);
  const waker = new Waker(path.dirname(r.logFile), (name) => name === logName, Math.max(100, r.repeatSeconds * 1000), r.signal, (error) =>
    log.log('warning', `cannot watch ${path.dirname(r.logFile)} (${error.message}); the sync log is picked up by polling every ${r.repeatSeconds} s`),
  );
  try {
    for (;;) {
      if (r.signal.aborted) return EXIT.TEMPFAIL;
      if (r.shutdownFile && fs.existsSync(r.shutdownFile)) {
        fs.rmSync(r.shutdownFile, { force: true });
        log.log('notice', 'sync shutdown file found, exiting');
        return EXIT.OK;
      }
      waker.clear(); // what is appended from here on wakes the next wait
      const state = fs.existsSync(runFile) ? 'reprocess' : await handOffLog(r.logFile, runFile, 30_000);
      if (state === 'reprocess') log.log('notice', `Reprocessing sync log file ${runFile}`);
      if (state === 'empty') {
        if (o.once) return EXIT.OK;
        await waker.wait();
        continue;
      }
      const failed = await processRun(engine, replicator, log, runFile, r.logFile);
      if (o.once) return EXIT.OK;
      if (failed.some((f) => f.unreachable)) {
        // As stock's do_daemon: after a failed pass with the replica gone, exit 0 (a supervisor restarts it).
        log.log('notice', 'the replica went away during a pass; its lines are re-queued, exiting as sync_client does');
        return EXIT.OK;
      }
    }
  } finally {
    waker.close();
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
