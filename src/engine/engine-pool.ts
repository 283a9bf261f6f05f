/**
 * Several replica connections behind one Replicator, for the drop-in
 * client's rolling mode and for shards with more than one connection.
 * sync_server handles one connection's commands one after another, fsyncs
 * included, so one connection caps a burst at the replica's serial speed
 * however deep the pipeline. The engines share one sync cache.
 *
 * Each batch goes to the live connection with the least work in flight,
 * counted in log lines, but only while that connection holds no more than
 * its fair share of everything in flight or waiting: the rest waits here and
 * goes to whichever connection frees up or comes up first. A fixed
 * user-to-connection map left connections idle: by hash, 50 users over 4
 * connections came out 18/7/17/8, and sync_server greets a new connection
 * only once its master has forked a child for it, so with 16 connections
 * the last greeting came some 350 ms after the first.
 *
 * Order: batches of one key are never given concurrently (the Replicator
 * contract), so a key may change connection between batches; ordering
 * between users comes, as on one connection, from the log pass's
 * dependencies and the per-user sync locks.
 *
 * A connection that cannot be made while another is up (typically more
 * connections than the replica's syncserver `maxchild`: the kernel accepts
 * the surplus, no sync_server ever greets it) simply gets no work; one
 * warning says so, and a notice when it is back.
 */
import { shardOf } from '../native/index.js';
import { Engine } from './engine.js';
import type { Replicator, ReplicatorContext, UserBatch, UserOutcome } from './replicator.js';

/**
 * A batch's preferred connection when several are equally loaded, so light
 * traffic keeps each user on one connection. The key is salted: within a
 * shard every key already has hash mod N = shard, so the plain hash mod
 * count would prefer one connection for all of a shard's users.
 */
export function connectionFor(key: string, count: number): number {
  return count === 1 ? 0 : shardOf(`${key}\0connection`, count);
}

/**
 * Replica connections a channel uses by default (the drop-in's, or all shards'
 * together). sync_server fsyncs each message before it answers, so the replica
 * works in parallel only across connections: on the 2-core lab a 2000-message
 * burst drained in 0.50-0.54 s with 8 and 0.56-0.59 s with 4.
 */
export const DEFAULT_TOTAL_CONNECTIONS = 8;

/** A connection-count setting: an integer 1-64, else `fallback`. */
export function connectionCount(value: string | undefined, fallback: number): number {
  const n = value === undefined ? fallback : Number(value);
  return Number.isInteger(n) && n >= 1 && n <= 64 ? n : fallback;
}

/** What the pool needs of a connection (an Engine; tests use fakes). */
export interface PoolMember {
  /** Connected, with no failure seen on the connection. */
  readonly live: boolean;
  /** A connection attempt (or the wait before the next one) is under way. */
  readonly isConnecting: boolean;
  /** Why the last attempt failed, while not connected; else null. */
  readonly connectFailure: string | null;
  /** Keep quiet about connect waits while `condition` holds (another member speaks for the pool). */
  muteConnectWaitsWhile(condition: () => boolean): void;
  onConnectAttempt(listener: () => void): void;
  replicate(batch: UserBatch): Promise<UserOutcome>;
  warmUp(): void;
  stopConnecting?(): void;
  close(): Promise<void>;
}

/** Stock's reconnect wait: how often the pool retries a member whose attempt gave up. */
const RECONNECT_MS = 15_000;

interface Waiting {
  readonly key: string;
  readonly weight: number;
  readonly start: (member: number) => void;
}

export class EnginePool<M extends PoolMember = Engine> implements Replicator {
  /** Log lines in flight per member. */
  private readonly load: number[];
  private totalLoad = 0;
  private waiting: Waiting[] = [];
  private waitingHead = 0;
  private waitingLoad = 0;
  private warm = false;
  private closed = false;
  /** When each member was last asked to reconnect by the pool. */
  private readonly kickedAt: number[];
  /** Members refused while another was up, for the warning and the notice. */
  private readonly refused = new Set<number>();

  constructor(readonly engines: M[], private readonly log: ReplicatorContext['log']) {
    this.load = engines.map(() => 0);
    this.kickedAt = engines.map(() => 0);
    engines.forEach((engine, i) => engine.onConnectAttempt(() => this.attempted(engine, i)));
    // One voice for "retrying in N seconds", and only while nothing is up.
    engines[0]!.muteConnectWaitsWhile(() => engines.some((e) => e.live));
  }

  /** `first` is the engine already in use (connected, say); `count - 1` more are made like it. */
  static around(first: Engine, ctx: ReplicatorContext, count: number): EnginePool {
    const more = Array.from({ length: Math.max(0, count - 1) }, () =>
      new Engine({ ...ctx, engine: { ...ctx.engine, sharedCache: first.cache, sharedUploads: first.uploads, capBuffers: first.capBuffers, quietConnectWaits: true } }));
    return new EnginePool([first, ...more], ctx.log);
  }

  /** Lines in flight on each connection (for tests and status). */
  get loads(): readonly number[] {
    return this.load;
  }

  /** Batches waiting for a connection. */
  get waitingCount(): number {
    return this.waiting.length - this.waitingHead;
  }

  async replicate(batch: UserBatch): Promise<UserOutcome> {
    if (!this.warm) this.warmUp();
    const weight = Math.max(1, batch.lines.length);
    const started = new Promise<number>((start) => this.waiting.push({ key: batch.key, weight, start }));
    this.waitingLoad += weight;
    this.pump();
    const member = await started;
    try {
      return await this.engines[member]!.replicate(batch);
    } finally {
      this.load[member]! -= weight;
      this.totalLoad -= weight;
      this.pump();
    }
  }

  /** The member for a waiting batch of `weight` lines, or null to wait. */
  private place(key: string, weight: number): number | null {
    const home = connectionFor(key, this.engines.length);
    let best = -1;
    let eligible = 0;
    this.engines.forEach((engine, i) => {
      this.kickIfIdle(engine, i);
      // A connection still making its first attempt will take its share when it comes up.
      if (engine.live || (engine.isConnecting && engine.connectFailure === null)) eligible++;
      if (!engine.live) return;
      if (best < 0 || this.load[i]! < this.load[best]! || (this.load[i] === this.load[best] && i === home)) best = i;
    });
    if (best < 0) {
      // Nothing up: wait for an attempt under way, else let the home engine connect and report.
      return this.engines.some((e) => e.isConnecting) && !this.closed ? null : home;
    }
    // Below its share, a connection takes one more batch (so 50 users of 40 lines go 13/13/12/12).
    const share = Math.ceil((this.totalLoad + this.waitingLoad) / Math.max(1, eligible));
    return this.load[best]! < share ? best : null;
  }

  /**
   * No batch is routed to a member that is down, so the pool reconnects it:
   * at once after a drop, and after a failed attempt that gave up (-o, or a
   * refusal that is not transient) every RECONNECT_MS.
   */
  private kickIfIdle(engine: M, i: number): void {
    if (!this.warm || this.closed || engine.live || engine.isConnecting) return;
    const now = Date.now();
    if (engine.connectFailure !== null && now - this.kickedAt[i]! < RECONNECT_MS) return;
    this.kickedAt[i] = now;
    engine.warmUp();
  }

  private take(member: number, weight: number): void {
    this.load[member]! += weight;
    this.totalLoad += weight;
  }

  /** Starts waiting batches, oldest first, while they can be placed. */
  private pump(): void {
    while (this.waitingHead < this.waiting.length) {
      const next = this.waiting[this.waitingHead]!;
      const member = this.place(next.key, next.weight);
      if (member === null) break;
      this.waitingHead++;
      this.waitingLoad -= next.weight;
      this.take(member, next.weight);
      next.start(member);
    }
    if (this.waitingHead > 1024 && this.waitingHead * 2 > this.waiting.length) {
      this.waiting = this.waiting.slice(this.waitingHead);
      this.waitingHead = 0;
    }
  }

  /**
   * A failure while another connection is up is this connection's own
   * problem (a replica outage fails them all, and each waits to reconnect
   * as a single connection would).
   */
  private attempted(engine: M, i: number): void {
    const name = `replica connection ${i + 1} of ${this.engines.length}`;
    if (engine.live) {
      if (this.refused.delete(i)) this.log('notice', `${name} is up again and takes work again`);
    } else if (!this.refused.has(i) && this.engines.some((e) => e !== engine && e.live)) {
      this.refused.add(i);
      // Over maxchild the kernel accepts the connection and no sync_server ever greets it: a
      // timeout. A reset or refusal is the replica going down under connections not yet told.
      const hint = /timed out|no reply/.test(engine.connectFailure ?? '') ? " More connections than the replica's syncserver maxchild?" : '';
      this.log('warning', `${name} cannot connect while others can (${engine.connectFailure}); the others carry its share until it does.${hint}`);
    }
    this.pump();
  }

  /**
   * All handshakes at once. While the replica is unreachable only the first
   * engine reports (stock's one "retrying in N seconds" line); the others
   * wait quietly on the same schedule.
   */
  warmUp(): void {
    this.warm = true;
    for (const engine of this.engines) engine.warmUp();
  }

  /** Stopping: no member waits for the replica any more; batches waiting for one fail as unreachable. */
  stopConnecting(): void {
    this.closed = true;
    for (const engine of this.engines) engine.stopConnecting?.();
    this.pump();
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.engines.map((e) => e.close()));
    this.pump(); // whatever still waits goes to a closed engine and fails, instead of hanging
  }
}
