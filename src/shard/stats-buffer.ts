/**
 * Shard counters in a SharedArrayBuffer, so the pool's thread reads every
 * worker's numbers at any time without a message round trip. Layout: one
 * row of STATS_FIELDS.length BigInt64 slots per shard, in STATS_FIELDS
 * order. Each slot is written and read with Atomics; a row as a whole is
 * not a consistent snapshot (fields may come from two updates), which is
 * fine for metrics.
 */
import { newShardStats, STATS_FIELDS, type ShardStats } from './stats.js';

const ROW = STATS_FIELDS.length;

export class StatsBuffer {
  private readonly slots: BigInt64Array;

  constructor(
    readonly buffer: SharedArrayBuffer,
    readonly shards: number,
  ) {
    if (buffer.byteLength < StatsBuffer.byteLength(shards)) throw new RangeError('stats buffer too small');
    this.slots = new BigInt64Array(buffer, 0, shards * ROW);
  }

  static byteLength(shards: number): number {
    return shards * ROW * BigInt64Array.BYTES_PER_ELEMENT;
  }

  static create(shards: number): StatsBuffer {
    return new StatsBuffer(new SharedArrayBuffer(StatsBuffer.byteLength(shards)), shards);
  }

  write(shard: number, stats: ShardStats): void {
    const base = this.row(shard);
    for (let i = 0; i < ROW; i++) Atomics.store(this.slots, base + i, BigInt(Math.trunc(stats[STATS_FIELDS[i]!])));
  }

  read(shard: number): ShardStats {
    const base = this.row(shard);
    const stats = newShardStats();
    for (let i = 0; i < ROW; i++) stats[STATS_FIELDS[i]!] = Number(Atomics.load(this.slots, base + i));
    return stats;
  }

  private row(shard: number): number {
    if (!Number.isInteger(shard) || shard < 0 || shard >= this.shards) throw new RangeError(`no shard ${shard}`);
    return shard * ROW;
  }
}
