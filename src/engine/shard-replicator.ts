/**
 * The module `syncmux run` hands its shard workers (ReplicatorFactory): one
 * Engine per shard, or an EnginePool when the shard should have more than
 * one replica connection. A single connection runs at sync_server's serial
 * speed, so few shards would leave the replica mostly idle;
 * syncmux_shard_connections (default: enough for 4 in all, at least 1 per
 * shard) decouples the replica's parallelism from the worker count.
 */
import { Engine } from './engine.js';
import { EnginePool } from './engine-pool.js';
import type { ReplicatorFactory } from './replicator.js';

export function connectionsPerShard(setting: string | undefined, shards: number): number {
  const n = setting === undefined ? Math.ceil(4 / shards) : Number(setting);
  return Number.isInteger(n) && n >= 1 && n <= 64 ? n : Math.ceil(4 / shards);
}

export const createReplicator: ReplicatorFactory = async (ctx) => {
  const engine = new Engine(ctx);
  const raw = engine.config.raw;
  const setting = (ctx.channel ? raw.get(`${ctx.channel}_syncmux_shard_connections`) : undefined) ?? raw.get('syncmux_shard_connections');
  const count = connectionsPerShard(setting, ctx.shards);
  return count > 1 ? EnginePool.around(engine, ctx, count) : engine;
};
