/**
 * The `syncmux` subcommands. Each gets the parsed config and channel and
 * returns an exit code; long-running ones stop cleanly on SIGTERM/SIGINT
 * and on the channel's sync_shutdown_file.
 */
import fs from 'node:fs';
import path from 'node:path';
import { syncChannel, type CyrusConfig } from '../cyrus/config.js';
import { runSplitter, splitOnce, type SplitStats } from '../synclog/index.js';
import type { Logger } from './logger.js';

export interface CommandContext {
  config: CyrusConfig;
  configFile: string;
  channel: string | null;
  channelDir: string;
  values: Record<string, string | boolean | undefined>;
  log: Logger;
}

export type Command = (ctx: CommandContext) => Promise<number>;

export function channelDirOf(config: CyrusConfig, channel: string | null): string {
  return channel ? path.join(config.configDirectory, 'sync', channel) : path.join(config.configDirectory, 'sync');
}

export function shardsOf(ctx: CommandContext): number {
  const n = Number(ctx.values.shards ?? 1);
  if (!Number.isInteger(n) || n < 1 || n > 1024) throw new Error(`--shards must be an integer from 1 to 1024, got ${ctx.values.shards}`);
  return n;
}

export function stopSignal(): AbortSignal {
  const controller = new AbortController();
  for (const sig of ['SIGTERM', 'SIGINT'] as const) process.once(sig, () => controller.abort(new Error(sig)));
  return controller.signal;
}

function describe(stats: SplitStats): string {
  return `${stats.linesIn} line(s) in, per shard [${stats.linesPerShard.join(' ')}], ${stats.quarantined} quarantined, ${stats.batches} batch(es)`;
}

const split: Command = async (ctx) => {
  fs.mkdirSync(ctx.channelDir, { recursive: true });
  const options = {
    channelDir: ctx.channelDir,
    shards: shardsOf(ctx),
    route: { deletedPrefix: ctx.config.deletedPrefix, defaultDomain: ctx.config.defaultDomain },
    shutdownFile: syncChannel(ctx.config, ctx.channel).shutdownFile ?? undefined,
    signal: stopSignal(),
  };
  const stats = ctx.values.once ? await splitOnce(options) : await runSplitter(options);
  ctx.log.log('info', `split: ${describe(stats)}`);
  process.stdout.write(`${describe(stats)}\n`);
  return 0;
};

export const commands: Record<string, Command> = { split };
