/**
 * The hot path: one batch of log-run lines in, per-shard output buffers and
 * quarantine records out. Two passes, so the shard hash runs once per batch
 * in C++ (shardOfLines) instead of once per line: first route every line,
 * appending its key(s) to one key buffer; then hash all keys and copy each
 * line's original bytes to its shard. Lines are copied byte for byte, never
 * re-printed.
 */
import { shardOfLines } from '../native/index.js';
import { formatBarrierLine } from './barrier.js';
import { ByteSink } from './byte-sink.js';
import { LINE_END, type LineBatch } from './line-reader.js';
import { SCAN } from './line-scanner.js';
import { QUARANTINE_MAX_LINE_BYTES, QuarantineBuffer } from './quarantine.js';
import { LineRouter, routeFailureReason, type RouteOptions } from './route.js';
import { ShardOutputs } from './shard-writer.js';
import type { SplitStats } from './stats.js';

/** Lines longer than this are quarantined: Cyrus's writer caps a line at 4096 bytes. */
export const MAX_LINE_BYTES = QUARANTINE_MAX_LINE_BYTES;

const TOO_LONG = -100;
const NO_SHARDS = new Uint32Array(0);

/** Gives the run's barrier number, allocating it durably on first use; `batchOffset` is the resume point to record with it. */
export type BarrierRunSource = (batchOffset: number) => number;

export class BatchSplitter {
  readonly outputs: ShardOutputs;
  readonly quarantine = new QuarantineBuffer();
  private readonly router: LineRouter;
  private readonly keys = new ByteSink(1024 * 1024);
  private readonly failureKeys = new ByteSink(256);
  private outcomes = new Int8Array(0);

  constructor(readonly shards: number, routeOptions: RouteOptions = {}) {
    this.outputs = new ShardOutputs(shards);
    this.router = new LineRouter(routeOptions);
  }

  split(batch: LineBatch, stats: SplitStats, barrierRun: BarrierRunSource): void {
    this.outputs.reset();
    this.quarantine.reset();
    this.keys.reset();
    if (this.outcomes.length < batch.count) this.outcomes = new Int8Array(batch.starts.length);
    this.routeAll(batch);
    const shardOfKey = this.keys.length > 0 ? shardOfLines(this.keys.view(), this.shards) : NO_SHARDS;
    this.distribute(batch, shardOfKey, stats, barrierRun);

    stats.linesIn += batch.count;
    stats.bytesIn += batch.endOffset - batch.fileOffset;
    for (let shard = 0; shard < this.shards; shard++) stats.linesPerShard[shard]! += this.outputs.lineCounts[shard]!;
    stats.quarantined += this.quarantine.count;
  }

  private routeAll(batch: LineBatch): void {
    const { buf, starts, ends, endings, count } = batch;
    const outcomes = this.outcomes;
    for (let i = 0; i < count; i++) {
      const start = starts[i]!;
      const end = ends[i]!;
      if (endings[i] === LINE_END.OVERSIZED || end - start > MAX_LINE_BYTES) outcomes[i] = TOO_LONG;
      else outcomes[i] = this.router.route(buf, start, end, this.keys);
    }
  }

  private distribute(batch: LineBatch, shardOfKey: Uint32Array, stats: SplitStats, barrierRun: BarrierRunSource): void {
    const { buf, starts, ends, endings, count } = batch;
    const outcomes = this.outcomes;
    const { sinks, lineCounts } = this.outputs;
    let key = 0;
    for (let i = 0; i < count; i++) {
      const outcome = outcomes[i]!;
      if (outcome === 1) {
        const shard = shardOfKey[key++]!;
        this.copyLine(sinks[shard]!, buf, starts[i]!, ends[i]!, endings[i]!);
        lineCounts[shard]!++;
      } else if (outcome === 2) {
        const leader = shardOfKey[key++]!;
        const follower = shardOfKey[key++]!;
        stats.multiUserLines++;
        if (leader !== follower) {
          const id = { run: barrierRun(batch.fileOffset), offset: batch.fileOffset + starts[i]! };
          const barrier = formatBarrierLine({ id, shards: [leader, follower] });
          sinks[leader]!.pushLatin1(barrier);
          sinks[follower]!.pushLatin1(barrier);
          stats.barriers++;
        }
        this.copyLine(sinks[leader]!, buf, starts[i]!, ends[i]!, endings[i]!);
        lineCounts[leader]!++;
      } else if (outcome === -SCAN.BLANK) {
        stats.blankLines++;
      } else {
        this.quarantineLine(batch, i, outcome);
      }
    }
  }

  private copyLine(sink: ByteSink, buf: Uint8Array, start: number, end: number, ending: number): void {
    if (ending === LINE_END.LF) {
      sink.pushRange(buf, start, end + 1);
    } else {
      sink.pushRange(buf, start, end);
      sink.pushByte(0x0a);
    }
  }

  private quarantineLine(batch: LineBatch, i: number, outcome: number): void {
    const start = batch.starts[i]!;
    const end = batch.ends[i]!;
    const ending = batch.endings[i]!;
    let reason: string;
    if (outcome === TOO_LONG) {
      const length = ending === LINE_END.OVERSIZED ? batch.oversizedLength : end - start;
      reason = `line too long (${length} bytes; kept the first ${Math.min(length, MAX_LINE_BYTES)})`;
    } else {
      // Rare path: route the line again to learn where it failed.
      this.failureKeys.reset();
      this.router.route(batch.buf, start, end, this.failureKeys);
      reason = `${routeFailureReason(-outcome)} at column ${this.router.errorAt}`;
    }
    if (ending === LINE_END.EOF) reason += '; last line of the file had no LF (torn write?)';
    this.quarantine.add(batch.buf, start, end, batch.fileOffset + start, reason);
  }
}
