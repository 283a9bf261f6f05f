/**
 * Durable progress through `log-run`, so a restarted splitter resumes after
 * the last durable batch instead of duplicating the whole file.
 *
 * `log-run.offset` holds the byte offset where the next batch starts and the
 * run's barrier number (0 until the run's first cross-shard barrier needs
 * one; see barrier.ts). Invariant: the checkpoint file exists only while its
 * `log-run` does. It is removed (and that made durable) before any new `log`
 * is handed off, so a checkpoint found next to a `log-run` always describes
 * that very file.
 *
 * `barrier-runs` holds the last barrier run number handed out. It only grows,
 * which makes barrier ids increase across runs, crashes and restarts.
 */
import { fsyncDir } from '../native/index.js';
import type { ChannelFiles } from './channel.js';
import { readFileIfExists, unlinkIfExists, writeFileDurable } from './durable-file.js';
import { SyncmuxError } from '../errors.js';

export interface Checkpoint {
  /** Byte offset in log-run of the first line not yet durably split. */
  readonly offset: number;
  /** Barrier run number of this log-run, 0 if none was assigned yet. */
  readonly barrierRun: number;
}

export class RunStateError extends SyncmuxError {
  constructor(message: string, options?: ErrorOptions) {
    super('SYNCMUX_RUN_STATE', message, options);
  }
}

const CHECKPOINT_PATTERN = /^offset (\d+)\nbarrier-run (\d+)\n$/;

export function readCheckpoint(files: ChannelFiles): Checkpoint | null {
  const text = readFileIfExists(files.checkpoint);
  if (text === null) return null;
  const match = CHECKPOINT_PATTERN.exec(text);
  if (!match) {
    // Never guessed at: restarting from 0 with a new barrier run could leave
    // orphan barriers whose ids no longer match, and stall the workers.
    throw new RunStateError(
      `${files.checkpoint} is corrupt (${JSON.stringify(text.slice(0, 80))}); it is written atomically, so ` +
        `something else changed it. Inspect it; to reprocess ${files.run} from the start, stop the shard ` +
        `workers, let them drain, then remove it.`,
    );
  }
  return { offset: Number(match[1]), barrierRun: Number(match[2]) };
}

export function writeCheckpoint(files: ChannelFiles, checkpoint: Checkpoint): void {
  writeFileDurable(files.checkpoint, `offset ${checkpoint.offset}\nbarrier-run ${checkpoint.barrierRun}\n`);
}

/** After log-run is gone: drop its checkpoint (made durable before the next hand-off). */
export function dropCheckpoint(files: ChannelFiles): void {
  unlinkIfExists(files.checkpoint);
}

/** Before a hand-off: a checkpoint without its log-run is stale and must not outlive this point. */
export function removeStaleCheckpoint(files: ChannelFiles): void {
  if (unlinkIfExists(files.checkpoint)) fsyncDir(files.dir);
}

/** Hands out the next barrier run number, durably. */
export function allocateBarrierRun(files: ChannelFiles): number {
  const text = readFileIfExists(files.barrierRuns);
  let last = 0;
  if (text !== null) {
    const match = /^(\d+)\n$/.exec(text);
    if (!match) throw new RunStateError(`${files.barrierRuns} is corrupt: ${JSON.stringify(text.slice(0, 80))}`);
    last = Number(match[1]);
  }
  const next = last + 1;
  writeFileDurable(files.barrierRuns, `${next}\n`);
  return next;
}
