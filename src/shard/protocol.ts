/**
 * What the pool and a shard worker say to each other: workerData at start,
 * then typed messages over the worker's port. Counters do not travel as
 * messages while running: the worker writes them into the shared stats
 * buffer (stats-buffer.ts), readable at any time.
 */
import type { LogPriority } from './log.js';
import type { RunnerSettings } from './options.js';
import type { ShardStats } from './stats.js';

export interface WorkerConfig {
  readonly shard: number;
  readonly shards: number;
  readonly channelDir: string;
  /** URL (href) of a module exporting `createReplicator: ReplicatorFactory`. */
  readonly replicatorModule: string;
  readonly configFile: string;
  readonly channel: string | null;
  /** Engine settings the CLI read from its environment (e.g. the trace directory); structured-cloneable. */
  readonly engine?: {
    readonly traceDir?: string;
    /** Cyrus's CYRUS_PREFIX, read by the CLI: where imapd.conf and its includes are looked up first. */
    readonly cyrusPrefix?: string;
    /** Shared by every worker: one process-wide upload cap (syncmux_max_*_per_second). */
    readonly capBuffers?: { readonly bytes: SharedArrayBuffer; readonly messages: SharedArrayBuffer };
  };
  readonly settings: RunnerSettings;
  /** `watch` runs until shutdown; `once` does what is there and exits 0. */
  readonly mode: 'watch' | 'once';
  readonly statsBuffer: SharedArrayBuffer;
  /** How often the worker refreshes its row of the stats buffer. */
  readonly statsIntervalMs: number;
}

export type ToWorker =
  /** Go: sent once the worker said loaded and the pool's start gate opened. */
  | { readonly t: 'start' }
  /** Stop taking work, let in-flight batches finish for up to graceMs, close the replicator, exit 0. */
  | { readonly t: 'shutdown'; readonly graceMs: number }
  /** Ask for a `stats` message. */
  | { readonly t: 'stats' }
  /**
   * Run a pass now (`syncmux wait`: an idle shard proves it caught up
   * without waiting for its poll); `control`: a control file changed, read
   * the directory again.
   */
  | { readonly t: 'wake'; readonly control?: boolean };

export type FromWorker =
  /** Its code is loaded; waiting for `start` before it touches anything. */
  | { readonly t: 'loaded' }
  /** Started: the replicator is created and the shard runs. */
  | { readonly t: 'ready' }
  /** A snapshot: on request, and the final one just before a clean exit. */
  | { readonly t: 'stats'; readonly stats: ShardStats; readonly final: boolean }
  | { readonly t: 'log'; readonly priority: LogPriority; readonly message: string }
  /** Something the worker cannot go on after; it exits non-zero and the pool restarts it. */
  | { readonly t: 'fatal'; readonly message: string; readonly stack?: string };
