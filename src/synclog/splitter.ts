/**
 * The splitter for one channel directory: takes Cyrus's `log` over with the
 * reader hand-off (rename to log-run, wait out writers), routes every line to
 * log.<i> of its user's shard with the Cyrus writer protocol, and removes
 * log-run once every line is durable elsewhere.
 *
 * Crash safety, in order, per batch of log-run:
 *   1. append each shard's lines (and the batch's quarantine records), one
 *      fdatasync per file;
 *   2. fsync the directory, so a log.<i> created by step 1 survives too;
 *   3. durably record the offset after the batch (log-run.offset), unless the
 *      batch ended the file.
 * and per run, after the last batch: fsync the directory, unlink log-run,
 * fsync the directory, drop the checkpoint. A crash anywhere loses no line; a
 * restart replays at most the batch that was in flight, whose lines may then
 * appear twice (in order) in its shard logs.
 */
import fs from 'node:fs';
import { fsyncDir, LockFile } from '../native/index.js';
import { handOffLogAbortable, waitOutWriters } from './hand-off.js';
import { BatchSplitter, MAX_LINE_BYTES } from './batch-splitter.js';
import { channelFiles, type ChannelFiles } from './channel.js';
import { unlinkIfExists } from './durable-file.js';
import { LineReader } from './line-reader.js';
import type { RouteOptions } from './route.js';
import { allocateBarrierRun, dropCheckpoint, readCheckpoint, removeStaleCheckpoint, writeCheckpoint } from './run-state.js';
import { ensureShardCount } from './shard-count.js';
import { newSplitStats, type SplitStats } from './stats.js';
import { SyncmuxError } from '../errors.js';

export interface SplitOptions {
  /** {configdirectory}/sync/<channel> (or {configdirectory}/sync for the default channel). */
  readonly channelDir: string;
  /** Number of shard logs, log.0 … log.<shards-1>. Must match the `shards` file while shard logs hold lines. */
  readonly shards: number;
  readonly route?: RouteOptions;
  /** Lines per durable batch at most. Default 65536. */
  readonly batchLines?: number;
  /** Bytes per durable batch at most (the read buffer). Default 4 MiB, at least 128 KiB. */
  readonly batchBytes?: number;
  /** Bound on every lock wait (hand-off, shard appends). Default 60 s. */
  readonly lockTimeoutMs?: number;
  /** Stops between batches when aborted (SIGTERM). What is done stays done; the rest resumes on restart. */
  readonly signal?: AbortSignal;
  /** Like Cyrus's sync_shutdown_file: when it exists, stop between batches and remove it. */
  readonly shutdownFile?: string;
  /** Counters to add to; a fresh object when omitted. */
  readonly stats?: SplitStats;
  /** Called after each durable batch, e.g. to export the counters. */
  readonly onBatch?: (stats: SplitStats) => void;
  /** After lines reached a shard's log durably: `syncmux run` wakes that shard's worker. */
  readonly onShardAppended?: (shard: number) => void;
}

export class SplitterBusyError extends SyncmuxError {
  constructor(message: string, options?: ErrorOptions) {
    super('SYNCMUX_SPLITTER_BUSY', message, options);
  }
}

/** How a pass ended: `done` split a log-run, `empty` found nothing, `stopped` honoured a stop request. */
export type PassOutcome = 'done' | 'empty' | 'stopped';

export class ChannelSplitter {
  readonly stats: SplitStats;
  readonly files: ChannelFiles;
  private readonly batcher: BatchSplitter;
  private readonly lockTimeoutMs: number;
  private stopping = false;

  private constructor(
    private readonly options: SplitOptions,
    private readonly lock: LockFile,
  ) {
    this.files = channelFiles(options.channelDir);
    this.stats = options.stats ?? newSplitStats(options.shards);
    this.batcher = new BatchSplitter(options.shards, options.route);
    this.lockTimeoutMs = options.lockTimeoutMs ?? 60_000;
  }

  /** Takes the channel's splitter lock and checks the shard count; close() when done. */
  static open(options: SplitOptions): ChannelSplitter {
    const files = channelFiles(options.channelDir);
    fs.mkdirSync(files.dir, { recursive: true, mode: 0o750 });
    const lock = new LockFile(files.splitterLock, { write: true, create: true });
    if (!lock.tryLock('exclusive')) {
      lock.close();
      throw new SplitterBusyError(`another splitter is running on ${files.dir} (it holds ${files.splitterLock})`);
    }
    try {
      ensureShardCount(files, options.shards);
      return new ChannelSplitter(options, lock);
    } catch (error) {
      lock.close();
      throw error;
    }
  }

  close(): void {
    this.lock.close();
  }

  /** True once a stop was asked for (abort signal, or the shutdown file, which is then removed). */
  stopRequested(): boolean {
    if (this.stopping) return true;
    const { signal, shutdownFile } = this.options;
    if (signal?.aborted) this.stopping = true;
    else if (shutdownFile !== undefined && fs.existsSync(shutdownFile)) {
      unlinkIfExists(shutdownFile);
      this.stopping = true;
    }
    return this.stopping;
  }

  /** Splits a log-run left by an earlier pass (crash, stop), if there is one. */
  async drainRun(): Promise<PassOutcome> {
    if (!fs.existsSync(this.files.run)) return 'empty';
    this.stats.reprocessedRuns++;
    await this.waitOutWriters();
    return this.splitRun();
  }

  /** Hands `log` over to log-run and splits it; `empty` if there is no log. */
  async takeLog(): Promise<PassOutcome> {
    if (this.stopRequested()) return 'stopped';
    if (fs.existsSync(this.files.run)) return this.drainRun();
    removeStaleCheckpoint(this.files);
    const state = await handOffLogAbortable(this.files.log, this.files.run, this.lockTimeoutMs, this.options.signal);
    if (state === 'empty') return 'empty';
    if (state === 'reprocess') return this.drainRun();
    return this.splitRun();
  }

  /** Cyrus's reader takes and drops the lock: a writer that opened log before the rename finishes first. Throws ECANCELED on a stop. */
  private waitOutWriters(): Promise<void> {
    return waitOutWriters(this.files.run, this.lockTimeoutMs, this.options.signal);
  }

  private async splitRun(): Promise<PassOutcome> {
    const { files, stats } = this;
    const checkpoint = readCheckpoint(files);
    if (checkpoint !== null && checkpoint.offset > 0) stats.resumedRuns++;
    let barrierRun = checkpoint?.barrierRun ?? 0;
    // The run number must be durable before the first barrier that carries
    // it, so a replay of this log-run writes the very same barrier ids.
    const barrierRunSource = (batchOffset: number): number => {
      if (barrierRun === 0) {
        barrierRun = allocateBarrierRun(files);
        writeCheckpoint(files, { offset: batchOffset, barrierRun });
        stats.fsyncs += 4;
      }
      return barrierRun;
    };

    const reader = await LineReader.open(files.run, checkpoint?.offset ?? 0, {
      maxLines: this.options.batchLines,
      // Room for any line short enough to route, so only overlong lines are cut.
      chunkBytes: Math.max(this.options.batchBytes ?? 4 * 1024 * 1024, 2 * MAX_LINE_BYTES),
    });
    try {
      for (;;) {
        const batch = await reader.next();
        if (batch === null) break; // finish a fully split run even if a stop came meanwhile
        if (this.stopRequested()) return 'stopped';
        this.batcher.split(batch, stats, barrierRunSource);
        const quarantine = { path: files.quarantine, data: this.batcher.quarantine.records.view() };
        const appends = await this.batcher.outputs.flush(files.shardLog, this.lockTimeoutMs, quarantine, this.options.onShardAppended);
        stats.appends += appends;
        stats.fsyncs += appends;
        stats.batches++;
        if (batch.endOffset < reader.size) {
          fsyncDir(files.dir);
          writeCheckpoint(files, { offset: batch.endOffset, barrierRun });
          stats.fsyncs += 3;
        }
        this.options.onBatch?.(stats);
      }
    } finally {
      await reader.close();
    }
    // The shard logs' new entries are durable before log-run goes. Its removal
    // need not be: lost to a crash, log-run is split again (duplicates only).
    fsyncDir(files.dir);
    fs.unlinkSync(files.run);
    dropCheckpoint(files);
    stats.fsyncs += 1;
    stats.runs++;
    return 'done';
  }
}

/**
 * Once mode: splits a leftover log-run, then hands off and splits `log` once,
 * and returns. Throws SplitterBusyError, ShardCountError, RunStateError, or
 * the I/O error that stopped it (whatever is not durable is redone next time).
 */
export async function splitOnce(options: SplitOptions): Promise<SplitStats> {
  const splitter = ChannelSplitter.open(options);
  try {
    if ((await splitter.drainRun()) !== 'stopped') await splitter.takeLog();
    return splitter.stats;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ECANCELED' && splitter.stopRequested()) return splitter.stats;
    throw error;
  } finally {
    splitter.close();
  }
}
