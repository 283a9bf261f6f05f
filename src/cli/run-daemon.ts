/**
 * `syncmux run`: the splitter in the main thread and N shard workers, one
 * replica connection each. The status file (`syncmux.status` in the channel
 * directory, rewritten each second something changed, else every 5 s) is
 * what `syncmux status`/`metrics` and the demo read; with syncmux_verify_rate
 * set it also runs the background audit (src/verify). Stops cleanly on
 * SIGTERM/SIGINT and on sync_shutdown_file.
 *
 * Started as root, it starts the workers while still root and lets them
 * load their code, then becomes cyrus and only then lets them start: a
 * development clone under /root (mode 0700) is unreadable to cyrus, and
 * nothing touches Cyrus's files as root.
 */
import fs from 'node:fs';
import path from 'node:path';
import { syncChannel } from '../cyrus/index.js';
import { chownToCyrus, RateLimit } from '../engine/index.js';
import { ShardPool, mainLagMs, retryLagMs, type ShardStats, engineModule, isControlFile } from '../shard/index.js';
import { newSplitStats, runSplitter, splitOnce, type SplitStats, PassRequests } from '../synclog/index.js';
import { auditSettings, BackgroundAudit, type AuditStatus } from '../verify/index.js';
import { startWaitServer } from './wait-server.js';
import { describeUnreadable } from './privileges.js';
import { stopGraceMs } from './stopping.js';
import type { CommandContext } from './syncmux-commands.js';
import { EXIT } from './exit-codes.js';

export const STATUS_FILE = 'syncmux.status';

export interface DaemonStatus {
  pid: number;
  startedMs: number;
  updatedMs: number;
  channel: string | null;
  shards: number;
  splitter: SplitStats;
  shardStats: ShardStats[];
  restarts: number[];
  /** Per shard: its last fatal error while it has not run since, else null. */
  shardErrors?: Array<string | null>;
  /** The background audit (syncmux_verify_rate > 0), else absent. */
  verify?: AuditStatus;
}

const ENGINE_MODULE = engineModule(new URL(import.meta.url.endsWith('.ts') ? '../engine/shard-replicator.ts' : '../engine/shard-replicator.js', import.meta.url));

export async function runDaemon(ctx: CommandContext, shards: number, once: boolean, signal: AbortSignal): Promise<number> {
  const route = { deletedPrefix: ctx.config.deletedPrefix, defaultDomain: ctx.config.defaultDomain };
  const shutdownFile = syncChannel(ctx.config, ctx.channel).shutdownFile ?? undefined;
  const splitStats = newSplitStats(shards);
  const startedMs = Date.now();
  let openGate: (go: boolean) => void = () => {};
  const startGate = new Promise<void>((resolve, reject) => (openGate = (go) => (go ? resolve() : reject(new Error('not started')))));
  startGate.catch(() => {});
  const pool = ShardPool.start({
    startGate,
    channelDir: ctx.channelDir,
    shards,
    replicatorModule: ENGINE_MODULE,
    configFile: ctx.configFile,
    channel: ctx.channel,
    engine: {
      ...(process.env.SYNCMUX_TRACE_DIR ? { traceDir: process.env.SYNCMUX_TRACE_DIR } : {}),
      ...(process.env.CYRUS_PREFIX ? { cyrusPrefix: process.env.CYRUS_PREFIX } : {}),
      // One upload cap for the whole daemon, however many shards share it.
      capBuffers: { bytes: RateLimit.buffer(), messages: RateLimit.buffer() },
    },
    settings: { route, wokenBySplitter: !once },
    mode: once ? 'once' : 'watch',
    onEvent: (e) => {
      if (e.type === 'log') ctx.log.log(e.priority, `shard ${e.shard}: ${e.message}`);
      // The first failure of a kind at LOG_ERR; the same again at a lower level, the restarts' backoff bounds how often.
      else if (e.type === 'fatal') ctx.log.log(e.repeated ? 'notice' : 'err', `shard ${e.shard} failed${e.repeated ? ' again' : ''}: ${e.message}`);
      else if (e.type === 'restart') ctx.log.log(e.attempt > 1 ? 'info' : 'warning', `shard ${e.shard} restarting (attempt ${e.attempt}) in ${e.delayMs} ms`);
    },
  });
  ctx.log.log('info', `syncmux starting: loading ${shards} shard worker(s)`);
  const failedToLoad = await loadWorkers(pool, signal);
  if (failedToLoad !== null) {
    openGate(false);
    await pool.stop(0);
    if (signal.aborted) return EXIT.TEMPFAIL;
    ctx.log.log('err', failedToLoad);
    process.stderr.write(`syncmux run: ${failedToLoad}\n`);
    return EXIT.FAIL;
  }
  ctx.becomeCyrus();
  const unreadable = describeUnreadable(new URL(import.meta.url));
  if (unreadable) ctx.log.log('warning', `${unreadable}: the shard workers loaded before the switch to cyrus, but one that dies cannot restart; install syncmux where cyrus can read it`);
  fs.mkdirSync(ctx.channelDir, { recursive: true });
  // A once run's shards do what is in their logs and exit, so they start only after the split has
  // written them; a watching run's shards start now and are woken as lines arrive.
  if (!once) openGate(true);
  const auditing = once ? null : auditSettings(ctx.config, ctx.channel);
  const audit = auditing ? new BackgroundAudit(ctx.config, ctx.channel, ctx.channelDir, auditing, ctx.log) : null;
  const status = (): DaemonStatus => ({
    pid: process.pid, startedMs, updatedMs: Date.now(), channel: ctx.channel, shards,
    splitter: splitStats, shardStats: pool.snapshot(), restarts: Array.from({ length: shards }, (_, i) => pool.restarts(i)),
    shardErrors: Array.from({ length: shards }, (_, i) => pool.lastError(i)),
    ...(audit ? { verify: audit.status() } : {}),
  });
  const statusTimer = setInterval(statusWriter(ctx.channelDir, status), 1000);
  // `syncmux wait`: the socket API, in watch mode only (once mode ends by itself).
  const requests = new PassRequests();
  const waitServer = once ? null : await startWaitServer({
    channelDir: ctx.channelDir, shards, route, splitNow: () => requests.request(), stats: (i) => pool.stats.read(i), wakeShard: (i) => pool.wake(i),
  }, ctx.log);
  // Workers stop now, whatever the splitter is doing (a once run's shards would otherwise go on).
  const stopPool = () => void pool.stop(stopGraceMs(ctx.config.syncTimeout));
  if (signal.aborted) stopPool();
  else signal.addEventListener('abort', stopPool, { once: true });
  ctx.log.log('notice', `syncmux running: channel ${ctx.channel ?? '(default)'}, ${shards} shard(s)`);
  try {
    const split = { channelDir: ctx.channelDir, shards, route, shutdownFile, signal, stats: splitStats, requests, onWatchFailed: watchFailed(ctx), onStorageError: storageTrouble(ctx),
      coalesceMs: syncChannel(ctx.config, ctx.channel).coalesceMs, onShardAppended: (shard: number) => pool.wake(shard),
      // The shards watch no directory (they would wake on every append): the splitter's watch tells them of control files.
      onOtherFile: (name: string) => {
        if (isControlFile(name)) for (let i = 0; i < shards; i++) pool.wake(i, true);
      },
      onRetry: (error: Error) => ctx.log.log('warning', `taking the sync log over in ${ctx.channelDir}: ${error.message}; trying again`) };
    if (once) {
      await splitOnce(split);
      openGate(true);
      const codes = await pool.done;
      const failed = codes.flatMap((code, shard) => (code === 0 ? [] : [`shard ${shard}: ${pool.lastError(shard) ?? `exit ${code}`}`]));
      if (failed.length && !signal.aborted) {
        ctx.log.log('err', `run --once: ${failed.join('; ')}`);
        process.stderr.write(`syncmux run: ${failed.join('; ')}\n`);
        return EXIT.FAIL;
      }
    } else {
      await runSplitter(split);
      await pool.stop(stopGraceMs(ctx.config.syncTimeout));
    }
  } catch (err) {
    openGate(false); // a once run's shards that never started go now
    await pool.stop(stopGraceMs(ctx.config.syncTimeout));
    throw err;
  } finally {
    await audit?.stop();
    await waitServer?.close();
    clearInterval(statusTimer);
    writeStatus(ctx.channelDir, status());
  }
  ctx.log.log('notice', 'syncmux stopped');
  return signal.aborted ? EXIT.TEMPFAIL : EXIT.OK;
}

/** Waits until every worker loaded its code; the reason when one could not, or null. A stop signal ends the wait. */
async function loadWorkers(pool: ShardPool, signal: AbortSignal): Promise<string | null> {
  const aborted = new Promise<string>((resolve) => {
    if (signal.aborted) resolve('stopped');
    signal.addEventListener('abort', () => resolve('stopped'), { once: true });
  });
  return Promise.race([pool.loaded.then(() => null, (err: Error) => err.message), aborted]);
}

/**
 * Rewrites the status file when something in it changed, else every
 * STATUS_HEARTBEAT_MS (status calls a daemon dead after 10 s of silence).
 * Each write is a burst of inotify events in the channel directory, which
 * every shard and the splitter watch: an idle daemon would otherwise wake
 * every thread each second for nothing.
 */
function statusWriter(dir: string, status: () => DaemonStatus): () => void {
  let written = '';
  let writtenAt = 0;
  return () => {
    const s = status();
    const content = JSON.stringify(s, (key, value: unknown) => (VOLATILE.has(key) ? undefined : value));
    if (content === written && s.updatedMs - writtenAt < STATUS_HEARTBEAT_MS) return;
    written = content;
    writtenAt = s.updatedMs;
    writeStatus(dir, s);
  };
}

export const STATUS_HEARTBEAT_MS = 5000;

/** Fields that move with every write or every idle poll, not with work: they alone do not make a write. */
const VOLATILE = new Set(['updatedMs', 'caughtUpMs']);

/** The splitter's fs.watch failed: say so, since every change now waits for its poll. */
export function watchFailed(ctx: CommandContext): (error: Error) => void {
  return (error) => ctx.log.log('warning', `cannot watch ${ctx.channelDir} (${error.message}); the sync log is picked up by polling every second`);
}

/** The channel directory cannot be written: one LOG_ERR when it starts, one notice when it ends. */
export function storageTrouble(ctx: CommandContext): (error: Error | null) => void {
  return (error) => {
    if (error) ctx.log.log('err', `cannot write in ${ctx.channelDir} (${error.message}): not taking the sync log until it can, retrying; nothing is lost, Cyrus keeps appending to log`);
    else ctx.log.log('notice', `can write in ${ctx.channelDir} again: taking the sync log again`);
  };
}

function writeStatus(dir: string, status: DaemonStatus): void {
  const file = path.join(dir, STATUS_FILE);
  try {
    fs.writeFileSync(`${file}.tmp`, JSON.stringify(status));
    chownToCyrus(`${file}.tmp`);
    fs.renameSync(`${file}.tmp`, file);
  } catch {
    // status is best effort; replication does not depend on it
  }
}

export function readStatus(dir: string): DaemonStatus | null {
  try {
    return JSON.parse(fs.readFileSync(path.join(dir, STATUS_FILE), 'utf8')) as DaemonStatus;
  } catch {
    return null;
  }
}

/** Lag of the oldest unconfirmed line across shards, ms. */
export function statusLagMs(s: DaemonStatus, now = Date.now()): number {
  return Math.max(0, ...s.shardStats.map((st) => Math.max(mainLagMs(st, now), retryLagMs(st, now))));
}
