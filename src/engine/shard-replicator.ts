/**
 * The module `syncmux run` hands its shard workers (ReplicatorFactory): one
 * Engine per shard, or an EnginePool when the shard should have more than
 * one replica connection. A single connection runs at sync_server's serial
 * speed, so few shards would leave the replica mostly idle;
 * syncmux_shard_connections (default: enough for 8 in all, at least 1 per
 * shard) decouples the replica's parallelism from the worker count.
 * Unlike the drop-in, whose waits Cassandane checks against stock's 15 s,
 * the daemon retries a lost replica after 1 s, doubling.
 */
import { channelSetting } from '../cyrus/index.js';
import { Engine } from './engine.js';
import { connectionCount, DEFAULT_TOTAL_CONNECTIONS, EnginePool } from './engine-pool.js';
import type { ReplicatorFactory } from './replicator.js';

export function connectionsPerShard(setting: string | undefined, shards: number): number {
  return connectionCount(setting, Math.ceil(DEFAULT_TOTAL_CONNECTIONS / shards));
}

/** The daemon's first reconnect wait, in seconds. */
export const DAEMON_FIRST_RETRY_SECONDS = 1;

export const createReplicator: ReplicatorFactory = async (context) => {
  const ctx = { ...context, engine: { firstRetrySeconds: DAEMON_FIRST_RETRY_SECONDS, ...context.engine } };
  const engine = new Engine(ctx);
  const count = connectionsPerShard(channelSetting(engine.config, ctx.channel, 'syncmux_shard_connections'), ctx.shards);
  return count > 1 ? EnginePool.around(engine, ctx, count) : engine;
};
