/**
 * The files of one sync-log channel directory ({configdirectory}/sync/<channel>/,
 * or {configdirectory}/sync/ for the default channel). Cyrus owns `log` and,
 * while its reader runs, `log-run`; everything else here is ours. One place
 * for the names keeps the splitter, the workers and the tests in agreement.
 */
import path from 'node:path';

export interface ChannelFiles {
  readonly dir: string;
  /** Cyrus writers append here. */
  readonly log: string;
  /** `log` after the hand-off; the splitter's input. */
  readonly run: string;
  /** Progress through `run` (see run-state.ts). */
  readonly checkpoint: string;
  /** The last barrier run number handed out (see run-state.ts). */
  readonly barrierRuns: string;
  /** The shard count the shard logs were written with (see shard-count.ts). */
  readonly shardCount: string;
  /** Lines that could not be routed, with reason and time. */
  readonly quarantine: string;
  /** Held (OFD lock) by the one splitter running on this channel. */
  readonly splitterLock: string;
  /** Shard i's log, appended to with the Cyrus writer protocol. */
  shardLog(shard: number): string;
  /** Shard i's log after its worker took it over. */
  shardRun(shard: number): string;
  /** Shard i's worker's barrier position (see barrier.ts). */
  barrierPosition(shard: number): string;
}

export function channelFiles(dir: string): ChannelFiles {
  const at = (name: string): string => path.join(dir, name);
  return {
    dir,
    log: at('log'),
    run: at('log-run'),
    checkpoint: at('log-run.offset'),
    barrierRuns: at('barrier-runs'),
    shardCount: at('shards'),
    quarantine: at('quarantine'),
    splitterLock: at('splitter.lock'),
    shardLog: (shard) => at(`log.${shard}`),
    shardRun: (shard) => at(`log-run.${shard}`),
    barrierPosition: (shard) => at(`barrier.${shard}`),
  };
}

/** Matches shard log file names: log.<i> and log-run.<i>. */
export const SHARD_FILE_PATTERN = /^log(?:-run)?\.(\d+)$/;

/** Temp file next to `file` for write-then-rename. */
export function tempPathFor(file: string): string {
  return `${file}.tmp`;
}
