/**
 * Works through one log-run.<i>, chunk by chunk (bounded memory): parses
 * each line, groups a chunk's lines by shard key (each key's lines in log
 * order) and hands the groups to the dispatcher, many keys at once. A line
 * is finished once the replica confirmed it or it is durably in the retry
 * journal; the run is `done` only when all of its lines are.
 *
 * Ordering points, where the chunk is cut and everything before must
 * finish first:
 * - BARRIER (src/synclog/README.md): a follower passes the board; a leader
 *   runs the next line (the cross-user line) as a batch for its first
 *   user, then publishes. A leader's line that fails is journaled like any
 *   other and the barrier is still published, so no shard waits on a
 *   failing user.
 * - a cross-user line whose users share this shard: it runs for its first
 *   user, and also queues for the second user if that user is held in the
 *   journal (so it comes after that user's pending lines too).
 */
import fs from 'node:fs';
import { appendLog } from '../native/index.js';
import {
  formatBarrierId,
  isBarrierLine,
  parseBarrierLine,
  parseLine,
  roleOf,
  ParsedLineRouter,
  type Barrier,
  type BarrierBoard,
  type RouteOptions,
  type SyncLogLine,
  LINE_END,
  LineReader,
  type LineBatch,
  QuarantineBuffer,
} from '../synclog/index.js';
import type { Delivery } from './delivery.js';
import type { KeyedDispatcher } from './dispatcher.js';
import { Gauge } from './gauge.js';
import type { ShardFiles } from './files.js';
import type { ShardStats } from './stats.js';
import { SyncmuxError } from '../errors.js';

export interface RunContext {
  readonly shard: number;
  readonly files: ShardFiles;
  readonly route: RouteOptions;
  readonly board: BarrierBoard;
  readonly dispatcher: KeyedDispatcher;
  readonly delivery: Delivery;
  readonly stats: ShardStats;
  /** Lines per chunk; also the most lines left in flight before the next chunk is read. */
  readonly chunkLines: number;
  readonly barrierPollMs: number;
  /** Bound on one barrier wait; null waits until the peers arrive or the runner stops. */
  readonly barrierTimeoutMs: number | null;
  /** Aborted when the runner stops. */
  readonly signal: AbortSignal;
  /** Called before each chunk (control files, shutdown file). */
  readonly betweenChunks: () => void;
}

export type RunOutcome = 'done' | 'stopped';

class Stopped extends Error {}

export class BarrierTimeoutError extends SyncmuxError {
  constructor(message: string, options?: ErrorOptions) {
    super('SYNCMUX_BARRIER_TIMEOUT', message, options);
  }
}

export class RunProcessor {
  private readonly inFlight = new Gauge();
  private segment = new Map<string, SyncLogLine[]>();
  private segmentLines = 0;
  private leader: Barrier | null = null;
  private incomplete = false;
  private readonly quarantine = new QuarantineBuffer();
  private readonly bornMs: number;
  private readonly router: ParsedLineRouter;

  constructor(private readonly context: RunContext) {
    this.bornMs = birthTime(context.files.run);
    this.router = new ParsedLineRouter(context.route);
  }

  async run(): Promise<RunOutcome> {
    const { files, stats, signal } = this.context;
    stats.oldestMainMs = this.bornMs;
    const reader = await LineReader.open(files.run, 0, { maxLines: this.context.chunkLines });
    try {
      for (;;) {
        if (signal.aborted) break;
        this.context.betweenChunks();
        const batch = await reader.next();
        if (batch === null) break;
        await this.chunk(batch);
        await this.inFlight.atMost(this.context.chunkLines);
      }
      if (!signal.aborted && this.leader) await this.passLeader(null); // a BARRIER with no line after it
    } catch (error) {
      if (!(error instanceof Stopped) && !signal.aborted) throw error;
      this.incomplete = true;
    } finally {
      this.flushSegment();
      await this.inFlight.atMost(0);
      await reader.close();
    }
    const outcome = signal.aborted || this.incomplete ? 'stopped' : 'done';
    if (outcome === 'done') stats.oldestMainMs = 0;
    return outcome;
  }

  private async chunk(batch: LineBatch): Promise<void> {
    const { stats } = this.context;
    this.quarantine.reset();
    for (let i = 0; i < batch.count; i++) {
      const start = batch.starts[i]!;
      const end = batch.ends[i]!;
      const at = batch.fileOffset + start;
      if (batch.endings[i] === LINE_END.OVERSIZED) {
        this.quarantine.add(batch.buf, start, end, at, `line longer than ${end - start} bytes`);
        continue;
      }
      if (batch.endings[i] === LINE_END.EOF) {
        // A torn write: acting on a cut line could name another mailbox. Its writer replays it whole.
        this.quarantine.add(batch.buf, start, end, at, 'last line of the file had no LF (torn write); not acted on');
        continue;
      }
      if (isBarrierLine(batch.buf, start, end)) {
        const barrier = parseBarrierLine(batch.buf, start, end);
        if (barrier === null || !barrier.shards.includes(this.context.shard)) {
          this.quarantine.add(batch.buf, start, end, at, 'malformed BARRIER line, or not for this shard');
        } else {
          await this.onBarrier(barrier);
        }
        continue;
      }
      const parsed = parseLine(batch.buf, start, end);
      if (!parsed.ok) {
        if (parsed.error.reason !== 'blank') this.quarantine.add(batch.buf, start, end, at, parsed.error.detail);
        continue;
      }
      stats.linesIn++;
      const line = parsed.line;
      if (this.leader) {
        await this.passLeader(line);
        continue;
      }
      const lineRoute = this.router.route(line);
      if (lineRoute.kind === 'multi') await this.onSameShardMultiUser(line, lineRoute.keys);
      else this.add(lineRoute.key, line);
    }
    stats.lastActivityMs = Date.now();
    this.flushSegment();
    if (this.quarantine.count > 0) {
      await appendLog(this.context.files.quarantine, this.quarantine.records.view());
      stats.quarantined += this.quarantine.count;
    }
  }

  private add(key: string, line: SyncLogLine): void {
    const lines = this.segment.get(key);
    if (lines) lines.push(line);
    else this.segment.set(key, [line]);
    this.segmentLines++;
  }

  private flushSegment(): void {
    if (this.segmentLines === 0) return;
    const segment = this.segment;
    this.segment = new Map();
    this.segmentLines = 0;
    for (const [key, lines] of segment) void this.submit(key, lines, () => this.context.delivery.deliver(key, lines, this.bornMs));
  }

  /** Hands a key's lines to the dispatcher; resolves false if they were dropped by a stop. */
  private submit(key: string, lines: readonly SyncLogLine[], task: () => Promise<void>): Promise<boolean> {
    this.inFlight.add(lines.length);
    return this.context.dispatcher.submit(key, task).then((ran) => {
      if (!ran) this.incomplete = true;
      this.inFlight.add(-lines.length);
      return ran;
    });
  }

  /** Cuts here: every line before this point is finished when this resolves. */
  private async drain(): Promise<void> {
    this.flushSegment();
    await this.inFlight.atMost(0);
    if (this.incomplete) throw new Stopped();
  }

  private async onBarrier(barrier: Barrier): Promise<void> {
    await this.drain();
    if (this.leader) await this.passLeader(null);
    if (roleOf(barrier, this.context.shard) === 'leader') {
      this.leader = barrier;
      return;
    }
    await this.pass(barrier, async () => {});
  }

  /** The leader's side: once every follower is there, run the cross-user line (if any), then publish. */
  private async passLeader(line: SyncLogLine | null): Promise<void> {
    const barrier = this.leader!;
    this.leader = null;
    await this.pass(barrier, async () => {
      if (line === null) return;
      const lineRoute = this.router.route(line);
      const key = lineRoute.kind === 'multi' ? lineRoute.keys[0] : lineRoute.key;
      const ran = await this.submit(key, [line], () => this.context.delivery.deliver(key, [line], this.bornMs));
      if (!ran) throw new Stopped(); // not done, so not published: the replay runs it again
    });
  }

  private async pass(barrier: Barrier, execute: () => Promise<void>): Promise<void> {
    const { board, shard, signal, barrierPollMs, barrierTimeoutMs, stats } = this.context;
    const timeout = barrierTimeoutMs === null ? null : AbortSignal.timeout(barrierTimeoutMs);
    try {
      await board.pass(barrier, shard, execute, { signal: timeout ? AbortSignal.any([signal, timeout]) : signal, pollMs: barrierPollMs });
    } catch (error) {
      if (timeout?.aborted && !signal.aborted) {
        throw new BarrierTimeoutError(`shard ${shard}: barrier ${formatBarrierId(barrier.id)} with shards ${barrier.shards.join(',')} not passed within ${barrierTimeoutMs} ms`);
      }
      throw error;
    }
    stats.barriers++;
  }

  private async onSameShardMultiUser(line: SyncLogLine, [first, second]: readonly [string, string]): Promise<void> {
    await this.drain();
    const { delivery } = this.context;
    const ran = await Promise.all([
      this.submit(first, [line], () => delivery.deliver(first, [line], this.bornMs)),
      this.submit(second, [line], () => delivery.deliverIfHeld(second, [line], this.bornMs)),
    ]);
    if (ran.includes(false)) throw new Stopped();
  }
}

/** About when the oldest line of a log file was written: its birth time where the filesystem keeps one. */
function birthTime(file: string): number {
  const stat = fs.statSync(file);
  return stat.birthtimeMs > 0 ? Math.min(stat.birthtimeMs, stat.mtimeMs) : stat.mtimeMs;
}
