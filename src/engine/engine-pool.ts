/**
 * Several replica connections behind one Replicator, for the drop-in
 * client's rolling mode. sync_server handles one connection's commands one
 * after another, fsyncs included, so one connection caps a burst at the
 * replica's serial speed however deep the pipeline. Each user key always
 * uses the same connection, so one user's commands keep their order on one
 * stream; ordering between users comes, as on a single connection, from the
 * log pass's dependencies and the per-user sync locks. The engines share
 * one sync cache.
 *
 * A connection that cannot be made while another is up (typically more
 * connections than the replica's syncserver `maxchild`: the kernel accepts
 * the surplus, no sync_server ever greets it) lends its users to the next
 * live one until it connects, so no user waits on it.
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
  private attemptWaiters: Array<() => void> = [];
  /** Connections refused while another was up: their users go elsewhere until they connect. */
  private readonly refused = new Set<number>();

  private constructor(readonly engines: Engine[], private readonly log: ReplicatorContext['log']) {
    engines.forEach((engine, i) => engine.onConnectAttempt(() => this.attempted(engine, i)));
    // One voice for "retrying in N seconds", and only while nothing is up.
    const first = engines[0]!;
    const firstReports = first.reportConnectWaits;
    first.reportConnectWaits = () => firstReports() && !engines.some((e) => e.live);
  }

  /**
   * A failure while another connection is up is this connection's own
   * problem (a replica outage fails them all, and each waits to reconnect
   * as a single connection would).
   */
  private attempted(engine: Engine, i: number): void {
    const name = `replica connection ${i + 1} of ${this.engines.length}`;
    if (engine.live) {
      if (this.refused.delete(i)) this.log('notice', `${name} is up again; its users are back on it`);
    } else if (!this.refused.has(i) && this.engines.some((e) => e !== engine && e.live)) {
      this.refused.add(i);
      this.log('warning', `${name} cannot connect while others can (${engine.connectFailure}); its users go over the others until it does. More connections than the replica's syncserver maxchild?`);
    }
    const waiters = this.attemptWaiters;
    this.attemptWaiters = [];
    for (const w of waiters) w();
  }

  /** `first` is the engine already in use (connected, say); `count - 1` more are made like it. */
  static around(first: Engine, ctx: ReplicatorContext, count: number): EnginePool {
    const more = Array.from({ length: Math.max(0, count - 1) }, () =>
      new Engine({ ...ctx, engine: { ...ctx.engine, sharedCache: first.cache, quietConnectWaits: true } }));
    return new EnginePool([first, ...more], ctx.log);
  }

  async replicate(batch: UserBatch): Promise<UserOutcome> {
    return (await this.engineFor(batch.key)).replicate(batch);
  }

  /** The key's own engine; while that one is refused and another is live, the first live one after it. */
  private async engineFor(key: string): Promise<Engine> {
    const home = connectionFor(key, this.engines.length);
    const own = this.engines[home]!;
    for (;;) {
      if (own.live || this.engines.length === 1) return own;
      if (this.refused.has(home)) {
        const standIn = this.firstLiveAfter(home);
        if (standIn) return standIn;
      }
      if (!own.isConnecting) return own; // idle or given up: its replicate() connects and reports
      await new Promise<void>((resolve) => this.attemptWaiters.push(resolve));
    }
  }

  private firstLiveAfter(home: number): Engine | null {
    for (let i = 1; i < this.engines.length; i++) {
      const engine = this.engines[(home + i) % this.engines.length]!;
      if (engine.live) return engine;
    }
    return null;
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
