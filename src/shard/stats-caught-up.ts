/**
 * ShardStats.caughtUpMs, the shard's half of `syncmux wait`: a moment
 * before which every line appended to log.<i> is confirmed or durably in
 * the retry journal. A pass notes when it began (before it looks at any
 * file) and whether a leftover log-run.<i> was there; that moment becomes
 * the caught-up point when
 *  - the pass took log.<i> itself and finished the run: every line
 *    appended before the moment was in that file (the hand-off renames it
 *    afterwards and waits out its writers) or in an earlier run, and
 *    passes run one at a time, each finishing its run before the next; or
 *  - the pass took nothing, and afterwards log.<i> is empty or absent and
 *    no log-run.<i> exists. Only this runner renames log.<i>, and it did
 *    not (a rename would have left log-run.<i>), so log.<i> is the file it
 *    was at the moment, append-only, hence empty then too.
 * A pass cut short (stop, lock timeout) proves nothing and changes nothing.
 * The clock is CLOCK_MONOTONIC, one for all threads, so the main thread
 * compares it with its own readings.
 */
import fs from 'node:fs';
import type { ShardFiles } from './files.js';
import type { ShardStats } from './stats.js';

export interface PassStart {
  readonly began: number;
  /** No leftover log-run.<i>: the pass hands log.<i> itself off. */
  readonly fresh: boolean;
}

export function monotonicMs(): number {
  return Number(process.hrtime.bigint() / 1_000_000n);
}

export function passStart(files: ShardFiles): PassStart {
  const began = monotonicMs();
  return { began, fresh: !fs.existsSync(files.run) };
}

/** The pass finished its run (log-run.<i> removed). */
export function noteRunDone(stats: ShardStats, start: PassStart): void {
  if (start.fresh) advance(stats, start.began);
}

/** The pass took nothing to process. */
export function noteNothingTaken(stats: ShardStats, files: ShardFiles, start: PassStart): void {
  // log.<i> first, then log-run.<i>: the order the lines move in.
  if (sizeOf(files.log) === 0 && !fs.existsSync(files.run)) advance(stats, start.began);
}

function advance(stats: ShardStats, moment: number): void {
  if (moment > stats.caughtUpMs) stats.caughtUpMs = moment;
}

/** -1 when unknown: proves nothing, and must not fail the pass. */
function sizeOf(file: string): number {
  try {
    return fs.statSync(file).size;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ENOENT' ? 0 : -1;
  }
}
