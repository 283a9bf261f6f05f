/**
 * The shard count N is on-disk state: a user's lines live in log.<hash mod N>.
 * Splitting with a new N while a shard log written with the old N still holds
 * lines would put one user's lines in two files that two workers consume
 * independently, breaking that user's order. So N is recorded in `shards`,
 * and a different N is accepted only once every log.<i> and log-run.<i> is
 * empty or gone (the workers drained them).
 */
import fs from 'node:fs';
import path from 'node:path';
import { SHARD_FILE_PATTERN, type ChannelFiles } from './channel.js';
import { readFileIfExists, writeFileDurable } from './durable-file.js';
import { SyncmuxError } from '../errors.js';

export class ShardCountError extends SyncmuxError {
  constructor(message: string, options?: ErrorOptions) {
    super('SYNCMUX_SHARD_COUNT', message, options);
  }
}

/** Non-empty shard logs in the directory, as "name (bytes)". */
export function undrainedShardFiles(files: ChannelFiles): string[] {
  const found: string[] = [];
  for (const name of fs.readdirSync(files.dir)) {
    if (!SHARD_FILE_PATTERN.test(name)) continue;
    let size = 0;
    try {
      size = fs.statSync(path.join(files.dir, name)).size;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue; // a worker just took or removed it
      throw error;
    }
    if (size > 0) found.push(`${name} (${size} bytes)`);
  }
  return found.sort();
}

export function recordedShardCount(files: ChannelFiles): number | null {
  const text = readFileIfExists(files.shardCount);
  if (text === null) return null;
  const match = /^(\d+)\n?$/.exec(text);
  if (!match) throw new ShardCountError(`${files.shardCount} is corrupt: ${JSON.stringify(text.slice(0, 40))}`);
  return Number(match[1]);
}

/** Records `shards` for the channel, or throws ShardCountError if that would reorder a user's lines. */
export function ensureShardCount(files: ChannelFiles, shards: number): void {
  if (!Number.isInteger(shards) || shards < 1) throw new RangeError(`bad shard count ${shards}`);
  const recorded = recordedShardCount(files);
  if (recorded === shards) return;
  const pending = undrainedShardFiles(files);
  if (pending.length > 0) {
    const was = recorded === null ? 'an unrecorded shard count' : `shards=${recorded}`;
    throw new ShardCountError(
      `refusing to split ${files.dir} into ${shards} shards: ${pending.join(', ')} still hold lines written with ` +
        `${was}, and changing the count now would reorder users' events. Let the shard workers drain ` +
        `those files (or run with shards=${recorded ?? '<the old count>'}), or stop it and run \`syncmux handback\`, then restart with the new count.`,
    );
  }
  writeFileDurable(files.shardCount, `${shards}\n`);
}
