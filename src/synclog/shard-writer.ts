/**
 * Group commit into the shard logs: a batch's lines are gathered per shard in
 * memory, then each non-empty shard gets one appendLog (the Cyrus writer
 * protocol: lock, inode check, write, fdatasync, unlock), all shards in
 * parallel on the libuv pool. The protocol keeps us safe against a shard
 * worker renaming log.<i> to log-run.<i> at the same moment.
 */
import { appendLog } from '../native/index.js';
import { ByteSink } from './byte-sink.js';

export class ShardOutputs {
  readonly sinks: ByteSink[];
  /** Lines per shard in the current batch. */
  readonly lineCounts: Uint32Array;

  constructor(readonly shards: number) {
    this.sinks = Array.from({ length: shards }, () => new ByteSink(256 * 1024));
    this.lineCounts = new Uint32Array(shards);
  }

  reset(): void {
    for (const sink of this.sinks) sink.reset();
    this.lineCounts.fill(0);
  }

  /**
   * Appends every non-empty shard buffer to its file; `extra` joins the same
   * parallel flush (the quarantine). Resolves with the number of appends
   * once all are durable; rejects if any failed. `appended` hears of each
   * shard whose append is durable.
   */
  async flush(pathOf: (shard: number) => string, timeoutMs: number, extra?: { path: string; data: Buffer }, appended?: (shard: number) => void): Promise<number> {
    const pending: Promise<number>[] = [];
    for (let shard = 0; shard < this.shards; shard++) {
      const sink = this.sinks[shard]!;
      if (sink.length === 0) continue;
      const append = appendLog(pathOf(shard), sink.view(), { sync: true, timeoutMs });
      pending.push(appended ? append.then((n) => (appended(shard), n)) : append);
    }
    if (extra && extra.data.length > 0) pending.push(appendLog(extra.path, extra.data, { sync: true, timeoutMs }));
    // Wait for every append to settle, so none is still running when we report.
    const results = await Promise.allSettled(pending);
    const failed = results.find((result) => result.status === 'rejected');
    if (failed) throw failed.reason;
    return pending.length;
  }
}
