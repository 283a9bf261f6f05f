/**
 * The per-shard loop: takes log.<i> over with the Cyrus reader hand-off,
 * works through log-run.<i> (run-processor.ts), retries failed users
 * (retry-driver.ts), honours the admin touch files, and removes
 * log-run.<i> only once every line in it is confirmed by the replica or
 * durably in the retry journal. Runs the same inside a worker thread or in
 * the caller's thread (`syncmux-client -i <shard>`).
 *
 * Two modes: runOnce() does what is there now (a leftover log-run.<i>,
 * then one hand-off of log.<i>, then the retries that are due) and returns;
 * run() keeps going, woken by fs events, until the signal aborts, the
 * shutdown file appears, or something fatal happens (an I/O error on the
 * journal: the owner restarts the runner, which replays from disk).
 */
import fs from 'node:fs';
import path from 'node:path';
import { fsyncDir, LockFile, lockPolling } from '../native/index.js';
import { BarrierBoard, unlinkIfExists, Waker } from '../synclog/index.js';
import { Backoff } from './backoff.js';
import { ControlFiles, type ResyncRequest } from './control-files.js';
import { Delivery } from './delivery.js';
import { KeyedDispatcher } from './dispatcher.js';
import { takeShardLog } from './handoff.js';
import { isControlFile, shardFiles, type ShardFiles } from './files.js';
import { silentLog, type LogFn } from './log.js';
import { resolveSettings, type ResolvedSettings, type ShardRunnerOptions } from './options.js';
import { RetryDriver } from './retry-driver.js';
import { RetryJournal } from './retry-journal.js';
import { RunProcessor } from './run-processor.js';
import { newShardStats, type ShardStats } from './stats.js';
import { noteNothingTaken, noteRunDone, passStart } from './stats-caught-up.js';
import { SyncmuxError } from '../errors.js';

export class ShardBusyError extends SyncmuxError {
  constructor(message: string, options?: ErrorOptions) {
    super('SYNCMUX_SHARD_BUSY', message, options);
  }
}

/** How a pass ended: `done` finished a log-run.<i>, `empty` found none, `stopped` was cut short. */
export type ShardPassOutcome = 'done' | 'empty' | 'stopped';

/** Control files are re-read at most this often while a run is being worked through. */
const CONTROL_REFRESH_MS = 100;

export class ShardRunner {
  readonly stats: ShardStats;
  readonly files: ShardFiles;
  private readonly settings: ResolvedSettings;
  private readonly log: LogFn;
  private readonly stopController = new AbortController();
  private readonly control: ControlFiles;
  private readonly dispatcher: KeyedDispatcher;
  private readonly delivery: Delivery;
  private readonly retries: RetryDriver;
  private readonly board: BarrierBoard;
  private readonly resyncing = new Set<string>();
  private fatal: unknown = null;
  private lastControlRefresh = 0;
  /** A skip-/resync- or shutdown file event came since the last refresh. */
  private controlChanged = true;
  private onceMode = false;
  private readonly onExternalAbort = (): void => this.stop();
  private waker: Waker | null = null;

  private constructor(
    private readonly options: ShardRunnerOptions,
    private readonly lock: LockFile,
    private readonly journal: RetryJournal,
  ) {
    this.settings = resolveSettings(options);
    this.log = options.log ?? silentLog;
    this.stats = options.stats ?? newShardStats();
    this.files = shardFiles(options.channelDir, options.shard);
    this.board = new BarrierBoard(options.channelDir);
    this.control = new ControlFiles(options.channelDir, options.shard, options.shards, this.settings.route, this.log);
    this.dispatcher = new KeyedDispatcher(this.settings.concurrency, (error) => this.fail(error));
    this.delivery = new Delivery({
      replicator: options.replicator,
      journal,
      control: this.control,
      backoff: new Backoff(options.backoff),
      stats: this.stats,
      log: this.log,
      onRetryDue: (dueMs) => this.retries.due(dueMs),
      stopping: () => this.stopping,
    });
    this.retries = new RetryDriver({
      journal,
      control: this.control,
      dispatcher: this.dispatcher,
      delivery: this.delivery,
      maxLines: this.settings.retryBatchLines,
      maxInFlight: this.settings.retryConcurrency,
    });
    options.signal?.addEventListener('abort', this.onExternalAbort);
    if (options.signal?.aborted) this.stop();
  }

  /** Takes the shard's lock (one runner per shard) and loads the retry journal. close() when done. */
  static async open(options: ShardRunnerOptions): Promise<ShardRunner> {
    const files = shardFiles(options.channelDir, options.shard);
    const settings = resolveSettings(options);
    const lock = new LockFile(files.lock, { write: true, create: true });
    try {
      // A crashed predecessor's lock goes with its thread; give that a moment.
      await lockPolling(lock, 'exclusive', Math.min(settings.lockTimeoutMs, 5000));
    } catch (error) {
      lock.close();
      if ((error as NodeJS.ErrnoException).code === 'ETIMEDOUT') throw new ShardBusyError(`shard ${options.shard} of ${options.channelDir} is in use by another runner`);
      throw error;
    }
    try {
      const journal = await RetryJournal.open({
        file: files.retry,
        tempFile: files.retryTemp,
        compactMinBytes: options.compactMinBytes,
        log: options.log,
      });
      return new ShardRunner(options, lock, journal);
    } catch (error) {
      lock.close();
      throw error;
    }
  }

  get stopping(): boolean {
    return this.stopController.signal.aborted;
  }

  /** Watch mode: start the next pass now instead of at the next event or poll; `control`: re-read the control files first. */
  wake(control = false): void {
    if (control) this.controlChanged = true;
    this.waker?.fire();
  }

  /** Stops taking work; in-flight batches finish. run()/runOnce() then return. */
  stop(): void {
    if (this.stopping) return;
    this.stopController.abort();
    this.dispatcher.stop();
    this.retries.stop();
  }

  /** The counters with the gauges brought up to date. */
  snapshot(): ShardStats {
    const index = this.journal.index;
    this.stats.retryLines = index.lines;
    this.stats.retryUsers = index.keys.size;
    this.stats.oldestRetryMs = index.oldestBornMs();
    this.stats.updatedMs = Date.now();
    return this.stats;
  }

  async runOnce(): Promise<ShardStats> {
    this.onceMode = true;
    try {
      this.refreshControl(true);
      if (fs.existsSync(this.files.run)) await this.pass();
      if (!this.stopping) await this.pass();
      if (!this.stopping) await this.retries.drainDue();
    } finally {
      await this.settle();
    }
    return this.snapshot();
  }

  async run(): Promise<ShardStats> {
    const waker = new Waker(this.settings.watchDirectory ? this.options.channelDir : null, (name) => this.interesting(name), this.settings.pollMs, this.stopController.signal, (error) =>
      this.log('warning', `shard ${this.options.shard}: cannot watch ${this.options.channelDir} (${error.message}); new lines are picked up by polling every ${this.settings.pollMs} ms`));
    this.waker = waker;
    try {
      while (!this.stopping) {
        waker.clear();
        // The directory is read again when a control file changed, else at most every CONTROL_REFRESH_MS:
        // a readdir per pass was a good part of a steady-state message's cost.
        this.refreshControl(this.controlChanged);
        if (this.stopping) break;
        const outcome = await this.pass();
        this.options.onPassEnd?.();
        if (outcome === 'empty') await waker.wait();
      }
    } finally {
      this.waker = null;
      waker.close();
      this.stop();
      await this.settle();
    }
    return this.snapshot();
  }

  /** Releases the shard lock and the journal. The replicator is its owner's to close. */
  async close(): Promise<void> {
    this.stop();
    this.options.signal?.removeEventListener('abort', this.onExternalAbort);
    try {
      await this.journal.close();
    } finally {
      this.lock.close();
    }
  }

  /** One log-run.<i>: the leftover one, or log.<i> freshly handed off. */
  async pass(): Promise<ShardPassOutcome> {
    const { files } = this;
    const start = passStart(files); // for `syncmux wait`: see stats-caught-up.ts
    if (!(await takeShardLog(files, this.settings.lockTimeoutMs, this.log, this.stopController.signal))) {
      noteNothingTaken(this.stats, files, start);
      return this.stopping ? 'stopped' : 'empty';
    }
    if (this.stopping) return 'stopped';
    const outcome = await new RunProcessor({
      shard: this.options.shard,
      files,
      route: this.settings.route,
      board: this.board,
      dispatcher: this.dispatcher,
      delivery: this.delivery,
      stats: this.stats,
      chunkLines: this.settings.chunkLines,
      barrierPollMs: this.settings.barrierPollMs,
      barrierTimeoutMs: this.settings.barrierTimeoutMs ?? (this.onceMode ? 60_000 : null),
      signal: this.stopController.signal,
      betweenChunks: () => this.refreshControl(false),
    }).run();
    this.throwIfFatal();
    if (outcome === 'stopped') return 'stopped';
    fsyncDir(files.dir); // journal and quarantine files created during the run, before the run goes
    // Its removal need not be durable: lost to a crash, the run is replayed (duplicates only).
    unlinkIfExists(files.run);
    this.stats.runs++;
    noteRunDone(this.stats, start);
    return 'done';
  }

  private refreshControl(force: boolean): void {
    const now = Date.now();
    if (!force && now - this.lastControlRefresh < CONTROL_REFRESH_MS) return;
    this.lastControlRefresh = now;
    this.controlChanged = false;
    const shutdownFile = this.options.shutdownFile;
    if (shutdownFile && fs.existsSync(shutdownFile)) {
      this.log('notice', `shutdown file ${shutdownFile} found: stopping shard ${this.options.shard}`);
      this.stop();
      return;
    }
    for (const request of this.control.refresh()) this.startResync(request);
    this.retries.scan(); // a removed skipuser- file may have made keys due
  }

  private startResync(request: ResyncRequest): void {
    const name = request.file.toString('latin1');
    if (this.resyncing.has(name) || this.stopping) return;
    if (request.key.startsWith('@') || request.key === '*') {
      this.log('warning', `${name}: ${JSON.stringify(request.key)} is no user; removing the request`);
      this.control.remove(request);
      return;
    }
    this.resyncing.add(name);
    this.log('notice', `full resync of user ${JSON.stringify(request.userid)} requested`);
    void this.dispatcher.submit(request.key, () => this.delivery.resync(request.key, request.userid)).then((ran) => {
      this.resyncing.delete(name);
      if (!ran) return; // stopped first: the touch file stays for the next start
      try {
        this.control.remove(request);
      } catch (error) {
        this.log('err', `cannot remove ${name}: ${(error as Error).message}`);
      }
    });
  }

  private interesting(name: string): boolean {
    if (name === path.basename(this.files.log)) return true;
    const control = isControlFile(name) || (!!this.options.shutdownFile && name === path.basename(this.options.shutdownFile));
    if (control) this.controlChanged = true;
    return control;
  }

  /** Waits for everything started to finish (all of it confirmed or journaled). */
  private async settle(): Promise<void> {
    await this.dispatcher.idle();
    try {
      await this.journal.flush();
    } catch (error) {
      this.fail(error);
    }
    this.throwIfFatal();
  }

  /** Ends the runner with `error`, which its run() then throws: the pool reports it (at LOG_ERR the first time). */
  private fail(error: unknown): void {
    if (this.fatal === null) this.log('info', `stopping: ${(error as Error)?.message ?? String(error)}`);
    this.fatal ??= error;
    this.stop();
  }

  private throwIfFatal(): void {
    if (this.fatal !== null) throw this.fatal;
  }
}

/** Opens a runner, does what is there now (runOnce), closes it. */
export async function runShardOnce(options: ShardRunnerOptions): Promise<ShardStats> {
  const runner = await ShardRunner.open(options);
  try {
    return await runner.runOnce();
  } finally {
    await runner.close();
  }
}

/** Opens a runner and keeps it going until the signal aborts or the shutdown file appears. */
export async function runShard(options: ShardRunnerOptions): Promise<ShardStats> {
  const runner = await ShardRunner.open(options);
  try {
    return await runner.run();
  } finally {
    await runner.close();
  }
}
