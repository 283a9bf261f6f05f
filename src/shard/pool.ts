/**
 * N shard workers, one worker_thread per shard, each running the shard
 * runner with a replicator from the given factory module. Workers first
 * load their code and say so (`loaded`); they start only once startGate
 * resolves, so a daemon can load them all before it gives up root. A
 * worker that crashes (exits non-zero while the pool is not stopping) is
 * restarted after a capped exponential backoff; its log-run.<i> and retry
 * journal are simply replayed. In `once` mode a worker that cannot start,
 * or crashes MAX_ONCE_CRASHES times in a row, ends its shard instead. stop() asks every worker to shut down gracefully
 * and terminates those still running grace + 1 s later. Counters live in a
 * SharedArrayBuffer the pool's thread can read at any moment.
 */
import type { Worker } from 'node:worker_threads';
import type { LogPriority } from './log.js';
import type { RunnerSettings } from './options.js';
import type { FromWorker, ToWorker, WorkerConfig } from './protocol.js';
import { needsTsx, startWorker } from './spawn.js';
import { StatsBuffer } from './stats-buffer.js';
import type { ShardStats } from './stats.js';
import { workerScript } from './worker-bundle.js';

export interface RestartOptions {
  /** First restart delay. Default 100 ms; doubles per crash in a row. */
  readonly initialMs?: number;
  /** Longest delay. Default 10 s. */
  readonly maxMs?: number;
  /** A worker that ran this long before crashing starts the backoff over. Default 30 s. */
  readonly stableMs?: number;
}

export interface PoolOptions {
  readonly channelDir: string;
  readonly shards: number;
  /** Module exporting `createReplicator: ReplicatorFactory` (a .ts URL works under tsx). */
  readonly replicatorModule: string | URL;
  /** Passed to the factory as ReplicatorContext.configFile. */
  readonly configFile: string;
  readonly channel?: string | null;
  readonly engine?: WorkerConfig['engine'];
  readonly settings?: RunnerSettings;
  /** `watch` (default) runs until stop(); `once` lets every shard do what is there and exit. */
  readonly mode?: 'watch' | 'once';
  readonly restart?: RestartOptions;
  /** Workers that loaded their code wait for this before they start. Default: start at once. */
  readonly startGate?: Promise<void>;
  /**
   * How often workers refresh their stats row while a pass runs (status and
   * metrics read it). Default 1 s; every pass also publishes as it ends, so
   * `syncmux wait` sees a shard catch up at once and an idle shard sleeps.
   */
  readonly statsIntervalMs?: number;
  readonly onEvent?: (event: PoolEvent) => void;
}

export type PoolEvent =
  | { readonly type: 'ready'; readonly shard: number }
  | { readonly type: 'log'; readonly shard: number; readonly priority: LogPriority; readonly message: string }
  | { readonly type: 'fatal'; readonly shard: number; readonly message: string; readonly repeated: boolean }
  | { readonly type: 'stats'; readonly shard: number; readonly stats: ShardStats; readonly final: boolean }
  | { readonly type: 'exit'; readonly shard: number; readonly code: number }
  | { readonly type: 'restart'; readonly shard: number; readonly attempt: number; readonly delayMs: number };

interface Slot {
  worker: Worker | null;
  startedAt: number;
  crashes: number;
  restarts: number;
  restartTimer: NodeJS.Timeout | null;
  killTimer: NodeJS.Timeout | null;
  lastCode: number;
  finished: boolean;
  /** The worker said loaded / ready since it was last spawned. */
  loaded: boolean;
  ready: boolean;
  everLoaded: boolean;
  /** The last fatal error, kept until the shard runs again. */
  lastError: string | null;
  /** The last fatal message, kept across restarts: the same failure again is reported at a lower level. */
  lastFatal: string | null;
}

/** A `once` run gives up on a shard after this many crashes in a row. */
export const MAX_ONCE_CRASHES = 3;

// Via ../shard/ so the path holds from dist/shard and from the CLI bundle in dist/bin alike.
const WORKER_URL = new URL(import.meta.url.endsWith('.ts') ? '../shard/worker.ts' : '../shard/worker.js', import.meta.url);

export class ShardPool {
  readonly stats: StatsBuffer;
  /** Resolves with each shard's last exit code once every worker is gone for good. */
  readonly done: Promise<number[]>;
  /** Resolves once every shard's first worker loaded its code; rejects with the first that could not. */
  readonly loaded: Promise<void>;
  private readonly slots: Slot[];
  private stopping = false;
  private resolveDone: (codes: number[]) => void = () => {};
  private loadedCount = 0;
  private settleLoaded: (error?: Error) => void = () => {};

  private constructor(private readonly options: PoolOptions) {
    this.stats = StatsBuffer.create(options.shards);
    this.slots = Array.from({ length: options.shards }, () => ({
      worker: null,
      startedAt: 0,
      crashes: 0,
      restarts: 0,
      restartTimer: null,
      killTimer: null,
      lastCode: 0,
      finished: false,
      loaded: false,
      ready: false,
      everLoaded: false,
      lastError: null,
      lastFatal: null,
    }));
    this.done = new Promise((resolve) => (this.resolveDone = resolve));
    this.loaded = new Promise<void>((resolve, reject) => {
      this.settleLoaded = (error) => {
        this.settleLoaded = () => {};
        if (error) reject(error);
        else resolve();
      };
    });
    this.loaded.catch(() => {}); // a caller that never awaits it must not see an unhandled rejection
  }

  static start(options: PoolOptions): ShardPool {
    const pool = new ShardPool(options);
    for (let shard = 0; shard < options.shards; shard++) pool.spawn(shard);
    return pool;
  }

  /** Every shard's counters, read from shared memory. */
  snapshot(): ShardStats[] {
    return this.slots.map((_, shard) => this.stats.read(shard));
  }

  /** Asks a shard's worker for a pass now (no-op while it is not running); `control`: a control file changed. */
  wake(shard: number, control = false): void {
    const worker = this.slots[shard]?.worker;
    if (worker && !this.stopping) this.send(worker, control ? { t: 'wake', control } : { t: 'wake' });
  }

  restarts(shard: number): number {
    return this.slots[shard]?.restarts ?? 0;
  }

  /** The shard's last fatal error while it has not run since; null when it is healthy. */
  lastError(shard: number): string | null {
    return this.slots[shard]?.lastError ?? null;
  }

  /** Graceful shutdown; resolves with the exit codes (0 for a clean stop). */
  stop(graceMs = 10_000): Promise<number[]> {
    this.stopping = true;
    this.slots.forEach((slot, shard) => {
      if (slot.restartTimer) {
        clearTimeout(slot.restartTimer);
        slot.restartTimer = null;
        this.finish(shard, slot.lastCode);
      }
      const worker = slot.worker;
      // Still loading its code, it has touched nothing: no need to wait for it.
      if (worker && !slot.loaded) void worker.terminate();
      else if (worker && !slot.killTimer) {
        this.send(worker, { t: 'shutdown', graceMs });
        slot.killTimer = setTimeout(() => void worker.terminate(), graceMs + 1000);
      }
    });
    return this.done;
  }

  private spawn(shard: number): void {
    const slot = this.slots[shard]!;
    const config: WorkerConfig = {
      shard,
      shards: this.options.shards,
      channelDir: this.options.channelDir,
      replicatorModule: String(this.options.replicatorModule),
      configFile: this.options.configFile,
      channel: this.options.channel ?? null,
      ...(this.options.engine ? { engine: this.options.engine } : {}),
      settings: this.options.settings ?? {},
      mode: this.options.mode ?? 'watch',
      statsBuffer: this.stats.buffer,
      statsIntervalMs: this.options.statsIntervalMs ?? 1000,
    };
    const script = workerScript(config.replicatorModule, WORKER_URL);
    const tsx = needsTsx(script, config.replicatorModule);
    const worker = startWorker(script, { workerData: config, name: `shard-${shard}` }, tsx);
    slot.worker = worker;
    slot.startedAt = Date.now();
    slot.loaded = false;
    slot.ready = false;
    worker.on('message', (message: FromWorker) => this.onMessage(shard, worker, message));
    worker.on('error', (error) => this.fatal(shard, error.message));
    worker.on('exit', (code) => this.onExit(shard, code));
  }

  private onMessage(shard: number, worker: Worker, message: FromWorker): void {
    const slot = this.slots[shard]!;
    switch (message.t) {
      case 'loaded':
        slot.loaded = true;
        if (!slot.everLoaded) {
          slot.everLoaded = true;
          if (++this.loadedCount === this.options.shards) this.settleLoaded();
        }
        void (this.options.startGate ?? Promise.resolve()).then(
          () => slot.worker === worker && this.send(worker, this.stopping ? { t: 'shutdown', graceMs: 0 } : { t: 'start' }),
          () => slot.worker === worker && this.send(worker, { t: 'shutdown', graceMs: 0 }),
        );
        break;
      case 'ready':
        slot.ready = true;
        slot.lastError = null;
        this.emit({ type: 'ready', shard });
        break;
      case 'log':
        this.emit({ type: 'log', shard, priority: message.priority, message: message.message });
        break;
      case 'stats':
        this.emit({ type: 'stats', shard, stats: message.stats, final: message.final });
        break;
      case 'fatal':
        this.fatal(shard, message.message);
        break;
    }
  }

  private fatal(shard: number, message: string): void {
    const slot = this.slots[shard]!;
    // The same failure of a worker that never ran stableMs since the last one is a repeat (a restart loop);
    // 'ready' clears lastError for status, not this.
    const repeated = slot.lastFatal === message && Date.now() - slot.startedAt < (this.options.restart?.stableMs ?? 30_000);
    slot.lastError = message;
    slot.lastFatal = message;
    this.emit({ type: 'fatal', shard, message, repeated });
  }

  private onExit(shard: number, code: number): void {
    const slot = this.slots[shard]!;
    slot.worker = null;
    slot.lastCode = code;
    if (slot.killTimer) clearTimeout(slot.killTimer);
    slot.killTimer = null;
    this.emit({ type: 'exit', shard, code });
    if (!slot.loaded) {
      // Never loaded its code: on the first spawn the daemon must hear of it now, not after restarts.
      this.settleLoaded(new Error(`shard ${shard} could not load its code: ${slot.lastError ?? `exit ${code}`}`));
    }
    if (this.stopping || code === 0) return this.finish(shard, code);
    const restart = this.options.restart ?? {};
    if (Date.now() - slot.startedAt >= (restart.stableMs ?? 30_000)) slot.crashes = 0;
    if (this.options.mode === 'once' && (!slot.ready || slot.crashes + 1 >= MAX_ONCE_CRASHES)) return this.finish(shard, code || 1);
    const delayMs = Math.min(restart.maxMs ?? 10_000, (restart.initialMs ?? 100) * 2 ** Math.min(slot.crashes, 30));
    slot.crashes++;
    slot.restarts++;
    this.emit({ type: 'restart', shard, attempt: slot.crashes, delayMs });
    slot.restartTimer = setTimeout(() => {
      slot.restartTimer = null;
      if (this.stopping) this.finish(shard, code);
      else this.spawn(shard);
    }, delayMs);
  }

  private finish(shard: number, code: number): void {
    const slot = this.slots[shard]!;
    slot.finished = true;
    slot.lastCode = code;
    if (this.slots.every((s) => s.finished)) this.resolveDone(this.slots.map((s) => s.lastCode));
  }

  private send(worker: Worker, message: ToWorker): void {
    worker.postMessage(message);
  }

  private emit(event: PoolEvent): void {
    this.options.onEvent?.(event);
  }
}
