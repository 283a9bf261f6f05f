/**
 * The files a shard worker owns in a channel directory, next to the
 * splitter's (src/synclog/channel.ts). One place for the names keeps the
 * runner, the tools and the tests in agreement.
 */
import path from 'node:path';
import { channelFiles } from '../synclog/index.js';

export interface ShardFiles {
  readonly dir: string;
  /** Shard i's log, appended to by the splitter. */
  readonly log: string;
  /** `log` after this worker's hand-off. */
  readonly run: string;
  /** The retry journal (see retry-journal.ts). */
  readonly retry: string;
  /** Compaction's temp file; only ever a leftover after a crash. */
  readonly retryTemp: string;
  /** Lines of this shard's logs that do not parse. Same record format as the splitter's `quarantine`. */
  readonly quarantine: string;
  /** OFD lock: one runner per shard. */
  readonly lock: string;
}

export function shardFiles(dir: string, shard: number): ShardFiles {
  const channel = channelFiles(dir);
  const at = (name: string): string => path.join(dir, name);
  return {
    dir,
    log: channel.shardLog(shard),
    run: channel.shardRun(shard),
    retry: at(`retry.${shard}`),
    retryTemp: at(`retry.${shard}.tmp`),
    quarantine: at(`quarantine.${shard}`),
    lock: at(`shard.${shard}.lock`),
  };
}

/** Touch files an admin creates in the channel directory, followed by a userid. */
export const SKIP_PREFIX = 'skipuser-';
export const RESYNC_PREFIX = 'resyncuser-';

/** A skip or resync request's touch file (by name). */
export const isControlFile = (name: string): boolean => name.startsWith(SKIP_PREFIX) || name.startsWith(RESYNC_PREFIX);
