/**
 * The daemon's side of `syncmux wait --user U`: resolves `ok` once every
 * line logged for U before the call is on the replica, or `timeout`. It
 * only reads: it never blocks, slows or fails replication.
 *
 * Why `ok` is right, with two monotone facts instead of byte offsets:
 *  1. splitNow() resolves after a splitter pass that began after the call
 *     has ended (PassRequests, src/synclog/watch.ts): U's lines logged
 *     before the call are durably in log.<s>, s = U's shard, or were
 *     taken from it earlier. T := the monotonic clock right then.
 *  2. Shard s publishes caughtUpMs: every line appended to log.<s> before
 *     it is confirmed by the replica or durably in the retry journal
 *     (src/shard/stats-caught-up.ts). So caughtUpMs > T covers U's lines.
 *  3. A key's journaled lines are confirmed strictly in order, so U having
 *     no pending lines, seen after 2, means all of them were confirmed.
 *     A failing or skipped U keeps pending lines: the wait times out.
 * A restarted worker publishes caughtUpMs 0 until its first pass: waits
 * get longer, never wrong. Limit: a cross-user RENAME is run by its first
 * user's shard; a failure of it there does not hold up a wait for the
 * second user.
 */
import path from 'node:path';
import { routeLine, shardOfKey, type RouteOptions } from '../synclog/index.js';
import { type ShardStats, monotonicMs } from '../shard/index.js';
import { pendingLines } from './retry-peek.js';

export interface WaitContext {
  readonly channelDir: string;
  readonly shards: number;
  readonly route: RouteOptions;
  /** A whole splitter pass that began after the call (rejects once the splitter stopped). */
  splitNow(): Promise<void>;
  /** Shard i's published counters. */
  stats(shard: number): ShardStats;
  /** Asks shard i for a pass now: one that began after the split proves it caught up. */
  wakeShard?(shard: number): void;
}

export interface WaitResult {
  readonly ok: boolean;
  readonly ms: number;
  /** The splitter stopped (daemon shutting down) before the wait could end. */
  readonly stopped?: boolean;
}

const POLL_MS = 10;
const JOURNAL_PEEK_MS = 100;

/** The shard key of a userid as USER lines carry it (UTF-8 in, log bytes as latin1). */
export function userKey(user: string, route: RouteOptions): string {
  const r = routeLine({ type: 'USER', args: [Buffer.from(user, 'utf8').toString('latin1')] }, route);
  return r.kind === 'single' ? r.key : r.keys[0];
}

export async function waitForUser(ctx: WaitContext, user: string, timeoutMs: number, signal?: AbortSignal): Promise<WaitResult> {
  const started = Date.now();
  const deadline = started + timeoutMs;
  const result = (ok: boolean, stopped = false): WaitResult => ({ ok, ms: Date.now() - started, ...(stopped ? { stopped } : {}) });
  const key = userKey(user, ctx.route);
  const shard = shardOfKey(key, ctx.shards);
  const journal = path.join(ctx.channelDir, `retry.${shard}`);
  const split = await beforeDeadline(ctx.splitNow(), deadline, signal).catch(() => null);
  if (split !== true) return result(false, split === null);
  const splitAt = monotonicMs();
  // Lines for the shard woke it already; with none, its next pass would wait for the poll.
  // The clock counts whole ms and a pass proves only what came before it began: begin it in
  // a later millisecond than splitAt.
  if (ctx.wakeShard) {
    while (monotonicMs() <= splitAt) await sleep(1);
    ctx.wakeShard(shard);
  }
  let peekedAt = 0;
  for (;;) {
    if (ctx.stats(shard).caughtUpMs > splitAt) {
      // Read the row again: its retryUsers slot is loaded after the caughtUpMs
      // just seen, so it comes from that publish or a later one (Atomics order).
      if (ctx.stats(shard).retryUsers === 0) return result(true);
      if (Date.now() - peekedAt >= JOURNAL_PEEK_MS) {
        peekedAt = Date.now();
        if (pendingLines(journal, key) === 0) return result(true);
      }
    }
    const left = deadline - Date.now();
    if (left <= 0 || signal?.aborted) return result(false);
    await sleep(Math.min(POLL_MS, left));
  }
}

/** True when the work finished first; a rejection (splitter stopped) propagates. */
async function beforeDeadline(work: Promise<void>, deadline: number, signal?: AbortSignal): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), Math.max(0, deadline - Date.now()));
    signal?.addEventListener('abort', () => resolve(false), { once: true });
  });
  try {
    return await Promise.race([work.then(() => true as const), late]);
  } finally {
    clearTimeout(timer);
  }
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
