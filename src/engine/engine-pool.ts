/**
 * Several replica connections behind one Replicator, for the drop-in
 * client's rolling mode. sync_server handles one connection's commands one
 * after another, fsyncs included, so one connection caps a burst at the
 * replica's serial speed however deep the pipeline. Each user key always
 * uses the same connection, so one user's commands keep their order on one
 * stream; ordering between users comes, as on a single connection, from the
 * log pass's dependencies and the per-user sync locks. The engines share
 * one sync cache.
 */
import { shardOf } from '../native/index.js';
import { Engine } from './engine.js';
import type { Replicator, ReplicatorContext, UserBatch, UserOutcome } from './replicator.js';

/**
 * Which of `count` connections serves `key`. The key is salted: within a
 * shard every key already has hash mod N = shard, so the plain hash mod
 * count would send a shard's users to one connection whenever count shares
 * a factor with N (2 shards x 2 connections).
 */
export function connectionFor(key: string, count: number): number {
  return count === 1 ? 0 : shardOf(`${key}\0connection`, count);
}

/** A connection-count setting: an integer 1-64, else `fallback`. */
export function connectionCount(value: string | undefined, fallback: number): number {
  const n = value === undefined ? fallback : Number(value);
  return Number.isInteger(n) && n >= 1 && n <= 64 ? n : fallback;
}

export class EnginePool implements Replicator {
  private constructor(readonly engines: Engine[]) {}

  /** `first` is the engine already in use (connected, say); `count - 1` more are made like it. */
  static around(first: Engine, ctx: ReplicatorContext, count: number): EnginePool {
    const more = Array.from({ length: Math.max(0, count - 1) }, () =>
      new Engine({ ...ctx, engine: { ...ctx.engine, sharedCache: first.cache, quietConnectWaits: true } }));
    return new EnginePool([first, ...more]);
  }

  replicate(batch: UserBatch): Promise<UserOutcome> {
    return this.engines[connectionFor(batch.key, this.engines.length)]!.replicate(batch);
  }

  /**
   * All handshakes at once. While the replica is unreachable only the first
   * engine reports (stock's one "retrying in N seconds" line); the others
   * wait quietly on the same schedule.
   */
  warmUp(): void {
    for (const engine of this.engines) engine.warmUp();
  }

  async close(): Promise<void> {
    await Promise.all(this.engines.map((e) => e.close()));
  }
}
