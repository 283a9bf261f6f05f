/**
 * The shard workers' public face: the per-shard runner (in-thread use, as
 * `syncmux-client -i <shard>` does), the worker pool, and their counters.
 */
export { Backoff, type BackoffOptions } from './backoff.js';
export { isControlFile, shardFiles, RESYNC_PREFIX, SKIP_PREFIX, type ShardFiles } from './files.js';
export type { LogFn, LogPriority } from './log.js';
export type { RunnerSettings, ShardRunnerOptions } from './options.js';
export { ShardPool, type PoolEvent, type PoolOptions, type RestartOptions } from './pool.js';
export type { FromWorker, ToWorker, WorkerConfig } from './protocol.js';
export { JournalCorruptError } from './journal-file.js';
export { RetryJournal, type RetryState } from './retry-journal.js';
export { parseRecord, type JournalRecord } from './journal-record.js';
export { BarrierTimeoutError } from './run-processor.js';
export { runShard, runShardOnce, ShardBusyError, ShardRunner, type ShardPassOutcome } from './shard-runner.js';
export { StatsBuffer } from './stats-buffer.js';
export { mainLagMs, newShardStats, retryLagMs, STATS_FIELDS, type ShardStats } from './stats.js';
export { HandbackError, handBack } from './handback.js';
export { monotonicMs } from './stats-caught-up.js';
export { engineModule } from './worker-bundle.js';
