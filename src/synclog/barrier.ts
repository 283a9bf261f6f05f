/**
 * Barriers: how per-user order survives a line that touches two users on
 * different shards (a cross-user RENAME or DOUBLEMAILBOX). This module is the
 * contract between the splitter, which writes barriers, and the shard
 * workers, which obey them.
 *
 * For such a line L (owners A then B, shards a != b) the splitter writes, in
 * the same durable batch:
 *   to log.<a>:  `BARRIER <id> <a>,<b>` then L        (a is the leader)
 *   to log.<b>:  `BARRIER <id> <a>,<b>`                (b is a follower)
 * A worker reaching a BARRIER must first finish everything before it in its
 * shard. Then the follower publishes its position (id) and waits until the
 * leader's position reaches id; the leader waits until every follower's
 * position reaches id, executes L, then publishes id. Neither goes past the
 * barrier before that, so L runs after all earlier events of A and B and
 * before all later ones.
 *
 * Ids are (run, offset): `run` comes from a counter that only grows
 * (run-state.ts), `offset` is L's byte offset in log-run. They increase in
 * log order, and a replay after a crash writes the same ids again, so:
 * - positions only grow, and "position >= id" also passes duplicates of
 *   barriers already passed (the replayed in-flight batch);
 * - barriers appear in every shard in the same global order, so waits never
 *   form a cycle.
 * A worker must publish durably before it discards the shard log that held
 * the barrier (BarrierBoard.publish does).
 */
import { channelFiles, type ChannelFiles } from './channel.js';
import { readFileIfExists, writeFileDurable } from './durable-file.js';
import { LineScan, SCAN, scanLine } from './line-scanner.js';

export interface BarrierId {
  readonly run: number;
  readonly offset: number;
}

export interface Barrier {
  readonly id: BarrierId;
  /** Participating shards, the leader (owner of the line's first argument) first. */
  readonly shards: readonly number[];
}

export const BARRIER_TYPE = 'BARRIER';

export function compareBarrierIds(a: BarrierId, b: BarrierId): number {
  return a.run - b.run || a.offset - b.offset;
}

export function formatBarrierId(id: BarrierId): string {
  return `${id.run}.${id.offset}`;
}

export function parseBarrierId(text: string): BarrierId | null {
  const match = /^(\d{1,15})\.(\d{1,15})$/.exec(text);
  return match ? { run: Number(match[1]), offset: Number(match[2]) } : null;
}

/** `BARRIER <run>.<offset> <leader>,<follower>\n`. */
export function formatBarrierLine(barrier: Barrier): string {
  return `${BARRIER_TYPE} ${formatBarrierId(barrier.id)} ${barrier.shards.join(',')}\n`;
}

const scan = new LineScan();
const BARRIER_BYTES = Buffer.from(BARRIER_TYPE, 'latin1');

/** True if the line (without LF) is a BARRIER line, well-formed or not. */
export function isBarrierLine(bytes: Uint8Array, start = 0, end = bytes.length): boolean {
  if (end - start < BARRIER_BYTES.length + 1 || bytes[start + BARRIER_BYTES.length] !== 0x20) return false;
  for (let i = 0; i < BARRIER_BYTES.length; i++) if (bytes[start + i] !== BARRIER_BYTES[i]) return false;
  return true;
}

/** Parses a BARRIER line (LF optional); null if it is not a well-formed one. */
export function parseBarrierLine(bytes: Uint8Array, start = 0, end = bytes.length): Barrier | null {
  if (end > start && bytes[end - 1] === 0x0a) end--;
  if (!isBarrierLine(bytes, start, end)) return null;
  if (scanLine(bytes, start, end, scan) !== SCAN.OK || scan.argCount !== 2) return null;
  const text = (s: number, e: number): string => Buffer.from(bytes.subarray(s, e)).toString('latin1');
  const id = parseBarrierId(text(scan.arg1Start, scan.arg1End));
  const shards = text(scan.arg2Start, scan.arg2End).split(',');
  if (id === null || shards.length < 2 || !shards.every((s) => /^\d{1,9}$/.test(s))) return null;
  return { id, shards: shards.map(Number) };
}

export type BarrierRole = 'leader' | 'follower';

export function roleOf(barrier: Barrier, shard: number): BarrierRole {
  if (barrier.shards[0] === shard) return 'leader';
  if (barrier.shards.includes(shard)) return 'follower';
  throw new RangeError(`shard ${shard} is not part of barrier ${formatBarrierId(barrier.id)}`);
}

/** Where each shard's worker stands: the last barrier id it published, or null. */
export type PositionOf = (shard: number) => BarrierId | null;

function reached(position: BarrierId | null, id: BarrierId): boolean {
  return position !== null && compareBarrierIds(position, id) >= 0;
}

/**
 * The pure rule: may `shard` go on (leader: execute the line; follower:
 * continue past the barrier)? A follower must have published its own
 * arrival (its position >= id) before asking.
 */
export function barrierReady(barrier: Barrier, shard: number, positionOf: PositionOf): boolean {
  if (roleOf(barrier, shard) === 'follower') return reached(positionOf(barrier.shards[0]!), barrier.id);
  return barrier.shards.slice(1).every((other) => reached(positionOf(other), barrier.id));
}

export interface PassOptions {
  readonly signal?: AbortSignal;
  /** How often to look at the other shards' positions. Default 20 ms. */
  readonly pollMs?: number;
}

/**
 * Positions kept as one small file per shard in the channel directory
 * (`barrier.<i>`), so workers in separate threads or processes can meet.
 */
export class BarrierBoard {
  private readonly files: ChannelFiles;

  constructor(channelDir: string) {
    this.files = channelFiles(channelDir);
  }

  position(shard: number): BarrierId | null {
    const text = readFileIfExists(this.files.barrierPosition(shard));
    return text === null ? null : parseBarrierId(text.trim());
  }

  /** Durably raises the shard's position to id (never lowers it). */
  publish(shard: number, id: BarrierId): void {
    if (reached(this.position(shard), id)) return;
    writeFileDurable(this.files.barrierPosition(shard), `${formatBarrierId(id)}\n`);
  }

  /**
   * The whole protocol for one worker at one barrier. The caller must have
   * finished every line before the barrier. `execute` runs the line that
   * follows the BARRIER in the leader's shard; followers never call it.
   */
  async pass(barrier: Barrier, shard: number, execute: () => Promise<void>, options: PassOptions = {}): Promise<void> {
    const positionOf: PositionOf = (s) => this.position(s);
    if (roleOf(barrier, shard) === 'follower') {
      this.publish(shard, barrier.id);
      await waitUntil(() => barrierReady(barrier, shard, positionOf), options);
      return;
    }
    await waitUntil(() => barrierReady(barrier, shard, positionOf), options);
    await execute();
    this.publish(shard, barrier.id);
  }
}

async function waitUntil(ready: () => boolean, options: PassOptions): Promise<void> {
  const pollMs = options.pollMs ?? 20;
  while (!ready()) {
    options.signal?.throwIfAborted();
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
}
