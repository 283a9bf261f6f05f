/**
 * Counters a splitter keeps for metrics. Plain numbers in a plain object, so
 * the lead can export them as they are (Prometheus, status output) and
 * callers can pass one object across several runs to accumulate.
 */
export interface SplitStats {
  /** Lines read from log-run, of every kind, duplicates of a replayed batch included. */
  linesIn: number;
  bytesIn: number;
  /** Lines written to shard logs, by shard (a multi-user line counts once, in its leader's shard). */
  linesPerShard: number[];
  /** Lines naming two users, whether or not their shards differ. */
  multiUserLines: number;
  /** BARRIER pairs written (multi-user lines whose users' shards differ). */
  barriers: number;
  /** Lines written to the quarantine file. */
  quarantined: number;
  /** Empty lines: nothing to replicate, so counted and dropped, like Cyrus does. */
  blankLines: number;
  /** Durable batches. */
  batches: number;
  /** appendLog calls (one fdatasync each) to shard logs and the quarantine. */
  appends: number;
  /** All fsync/fdatasync calls: appends, directory syncs, checkpoint writes. */
  fsyncs: number;
  /** log-run files finished (split and unlinked). */
  runs: number;
  /** Runs that found a log-run left over from before (a crash or a stop). */
  reprocessedRuns: number;
  /** Of those, runs resumed from a checkpoint rather than from the start. */
  resumedRuns: number;
}

export function newSplitStats(shards: number): SplitStats {
  return {
    linesIn: 0,
    bytesIn: 0,
    linesPerShard: new Array<number>(shards).fill(0),
    multiUserLines: 0,
    barriers: 0,
    quarantined: 0,
    blankLines: 0,
    batches: 0,
    appends: 0,
    fsyncs: 0,
    runs: 0,
    reprocessedRuns: 0,
    resumedRuns: 0,
  };
}
