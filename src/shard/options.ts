/**
 * A shard runner's settings and their defaults. Everything but the
 * replicator, signal, stats and log is plain data, so the pool can pass the
 * same settings to a worker through workerData.
 */
import type { Replicator } from '../engine/index.js';
import type { RouteOptions } from '../synclog/index.js';
import type { BackoffOptions } from './backoff.js';
import type { LogFn } from './log.js';
import type { ShardStats } from './stats.js';

export interface RunnerSettings {
  /** Cyrus `deletedprefix` / `defaultdomain`, as the splitter routes with. */
  readonly route?: RouteOptions;
  /** replicate() calls in flight at most. Default 64. */
  readonly concurrency?: number;
  /** Lines read per chunk of log-run.<i>, and the most left in flight before reading on. Default 50 000. */
  readonly chunkLines?: number;
  /** Lines per retry batch at most. Default 10 000. */
  readonly retryBatchLines?: number;
  /** Retry batches in flight at most. Default half of concurrency. */
  readonly retryConcurrency?: number;
  /** Wait between a user's failed attempts. Default 1 s doubling to 5 min. */
  readonly backoff?: BackoffOptions;
  /**
   * Watch mode: poll interval when no fs event arrives. Default 1 s, stock's
   * own poll: inotify wakes the runner at once; the poll only covers
   * filesystems that miss events, and costs every idle shard a wakeup.
   * Woken by the splitter, the default is 10 s: the splitter's watch wakes
   * the shard for its log and its control files, and an idle daemon's four
   * shards polling each second cost 0.3 CPU-s a minute.
   */
  readonly pollMs?: number;
  /**
   * Watch mode: the splitter in this process wakes the runner after each
   * append to its log (`syncmux run`), so it watches no directory. Every
   * event of the busy channel directory (the writers' appends, the
   * splitter's and every shard's renames) woke every shard's thread; now
   * the splitter forwards only the skip-/resync- files' events.
   */
  readonly wokenBySplitter?: boolean;
  /** How often a barrier wait looks at the other shards. Default 20 ms. */
  readonly barrierPollMs?: number;
  /**
   * Give up a barrier wait after this long (the run then fails and stays for
   * the next start). Default: wait for ever in watch mode (the peer shard is
   * running, or will be), 60 s in once mode (the peer may have finished
   * before the splitter's append reached its log).
   */
  readonly barrierTimeoutMs?: number;
  /** Bound on lock waits (hand-off, shard lock). Default 60 s. */
  readonly lockTimeoutMs?: number;
  /** Retry journal compaction threshold. Default 4 MiB. */
  readonly compactMinBytes?: number;
  /** Like sync_shutdown_file: stop between chunks once it exists. Not removed: its owner (CLI, pool) does that. */
  readonly shutdownFile?: string | null;
}

export interface ShardRunnerOptions extends RunnerSettings {
  /** The channel directory: {configdirectory}/sync[/<channel>]. */
  readonly channelDir: string;
  readonly shard: number;
  readonly shards: number;
  readonly replicator: Replicator;
  /** Stops the runner: no new work, in-flight batches finish, log-run.<i> stays for the next start. */
  readonly signal?: AbortSignal;
  /** Counters to add to; a fresh object when omitted. */
  readonly stats?: ShardStats;
  /** After every pass of watch mode, busy or empty: when the counters are worth publishing. */
  readonly onPassEnd?: () => void;
  readonly log?: LogFn;
}

export interface ResolvedSettings {
  readonly route: RouteOptions;
  readonly concurrency: number;
  readonly chunkLines: number;
  readonly retryBatchLines: number;
  readonly retryConcurrency: number;
  readonly pollMs: number;
  readonly watchDirectory: boolean;
  readonly barrierPollMs: number;
  readonly barrierTimeoutMs: number | null;
  readonly lockTimeoutMs: number;
}

export function resolveSettings(settings: RunnerSettings): ResolvedSettings {
  const concurrency = Math.max(1, settings.concurrency ?? 64);
  return {
    route: settings.route ?? {},
    concurrency,
    chunkLines: Math.max(1, settings.chunkLines ?? 50_000),
    retryBatchLines: Math.max(1, settings.retryBatchLines ?? 10_000),
    retryConcurrency: Math.max(1, Math.min(concurrency, settings.retryConcurrency ?? Math.ceil(concurrency / 2))),
    pollMs: Math.max(1, settings.pollMs ?? (settings.wokenBySplitter ? 10_000 : 1000)),
    watchDirectory: !settings.wokenBySplitter,
    barrierPollMs: Math.max(1, settings.barrierPollMs ?? 20),
    barrierTimeoutMs: settings.barrierTimeoutMs ?? null,
    lockTimeoutMs: settings.lockTimeoutMs ?? 60_000,
  };
}
