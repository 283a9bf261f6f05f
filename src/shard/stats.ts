/**
 * A shard runner's counters: plain numbers in a plain object, so an
 * in-thread caller can read them as they are and a worker can mirror them
 * into shared memory (stats-buffer.ts). Times are epoch milliseconds, so a
 * reader in another thread computes ages against its own clock.
 */
export interface ShardStats {
  /** Sync-log lines read from log-run.<i> (BARRIER and blank lines not counted). Replays count again. */
  linesIn: number;
  /** Lines the replica confirmed, first attempts and retries alike. */
  linesDone: number;
  /** Lines appended to the retry journal: failed, queued behind a failing user, or parked. */
  linesToRetry: number;
  /** Of those, lines parked for a skipped user. */
  linesParked: number;
  /** Batches (one user's lines) the replica confirmed. */
  usersOk: number;
  /** Batches that failed. */
  usersFailed: number;
  /** Of the confirmed batches, those handed to Cyrus's own sync_client (copyback, sieve migration). */
  handoffs: number;
  /** Until when uploads wait for their answer before APPLY MAILBOX, after a replica refused one (upload-pipelining.ts); 0 when not. */
  uploadsConfirmedUntilMs: number;
  /** Gauge: lines waiting in the retry journal. */
  retryLines: number;
  /** Gauge: users (shard keys) with lines in the retry journal. */
  retryUsers: number;
  /** Gauge: replicate() calls in flight. */
  inFlight: number;
  /** Barriers passed. */
  barriers: number;
  /** Lines of the shard log that did not parse (see quarantine.<i>). */
  quarantined: number;
  /** resyncuser- requests taken. */
  resyncs: number;
  /** log-run.<i> files finished and removed. */
  runs: number;
  /** Last time a line was read or a batch finished; 0 before any. */
  lastActivityMs: number;
  /** Birth time of the log-run.<i> being worked on (its oldest line is about this old); 0 when none. */
  oldestMainMs: number;
  /** Time the oldest line in the retry journal was first read; 0 when the journal is empty. */
  oldestRetryMs: number;
  /** When these numbers were last brought up to date. */
  updatedMs: number;
  /**
   * Every line appended to log.<i> before this moment (monotonicMs() of
   * stats-caught-up.ts, not epoch) is confirmed by the replica or in the
   * retry journal; 0 until a pass showed it. `syncmux wait` reads it.
   */
  caughtUpMs: number;
}

export const STATS_FIELDS = [
  'linesIn',
  'linesDone',
  'linesToRetry',
  'linesParked',
  'usersOk',
  'usersFailed',
  'handoffs',
  'uploadsConfirmedUntilMs',
  'retryLines',
  'retryUsers',
  'inFlight',
  'barriers',
  'quarantined',
  'resyncs',
  'runs',
  'lastActivityMs',
  'oldestMainMs',
  'oldestRetryMs',
  'updatedMs',
  'caughtUpMs',
] as const satisfies readonly (keyof ShardStats)[];

export function newShardStats(): ShardStats {
  const stats = {} as ShardStats;
  for (const field of STATS_FIELDS) stats[field] = 0;
  return stats;
}

/** Age of the oldest unconfirmed line of the main pipeline (0 when caught up). */
export function mainLagMs(stats: ShardStats, now = Date.now()): number {
  return stats.oldestMainMs > 0 ? Math.max(0, now - stats.oldestMainMs) : 0;
}

/** Age of the oldest line waiting for a retry (0 when none). */
export function retryLagMs(stats: ShardStats, now = Date.now()): number {
  return stats.oldestRetryMs > 0 ? Math.max(0, now - stats.oldestRetryMs) : 0;
}
