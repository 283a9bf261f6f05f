/**
 * Watch mode: keep the channel split as Cyrus writes. Wakes on fs.watch
 * events for `log` in the channel directory, with a poll as a fallback
 * (inotify can miss events, e.g. on network filesystems), so a new line is
 * picked up within milliseconds. Ends on the abort signal or the shutdown
 * file, between batches. A disk that cannot be written (full, quota, EIO)
 * does not end it: it waits, keeps log-run, takes no new `log`, and
 * resumes by itself (onStorageError tells when it starts and ends).
 */
import { ChannelSplitter, type PassOutcome, type SplitOptions } from './splitter.js';
import type { SplitStats } from './stats.js';
import { Waker } from './waker.js';

export interface WatchOptions extends SplitOptions {
  /** Poll interval when no event arrives. Default 1 s (see the shard runner's pollMs). */
  readonly pollMs?: number;
  /** Called once if fs.watch on the channel directory fails: only the poll wakes the splitter then. */
  readonly onWatchFailed?: (error: Error) => void;
  /** A pass woken by a file event begins this long after the event (syncmux_coalesce_ms; see Waker). Default 0. */
  readonly coalesceMs?: number;
  /** Called when a lock wait timed out; the pass is retried after a poll interval. */
  readonly onRetry?: (error: Error) => void;
  /** Lets the owner ask for a pass now and learn when it is done (`syncmux wait`). */
  readonly requests?: PassRequests;
  /**
   * The channel directory cannot be written (disk full, quota, I/O error):
   * called with the error once when it starts, with null once a pass
   * succeeds again. Meanwhile the splitter retries with a backoff and takes
   * no new `log`: log-run and its checkpoint keep what it already took.
   */
  readonly onStorageError?: (error: Error | null) => void;
  /**
   * Hears the name of every other file event in the channel directory (the
   * splitter's watch is the process's only one: `syncmux run` forwards the
   * control files to its shards). Called on the event loop; keep it cheap.
   */
  readonly onOtherFile?: (name: string) => void;
}

/** Errors that say the disk, not the data, is the problem: wait and retry instead of stopping. */
const STORAGE_ERRORS = new Set(['ENOSPC', 'EDQUOT', 'EIO', 'EROFS']);
const STORAGE_RETRY_FIRST_MS = 500;
const STORAGE_RETRY_MAX_MS = 10_000;

export function isStorageError(error: unknown): boolean {
  return STORAGE_ERRORS.has((error as NodeJS.ErrnoException | null)?.code ?? '');
}

/**
 * "Split now and tell me when done": request() wakes the loop and resolves
 * once a pass that *began* after the call has ended. Such a pass handed `log`
 * off after the call (waiting out its writers), so every line logged before
 * the call is then durably in the shard logs. Passes are numbered as they
 * begin; a pass cut short (lock timeout, stop) ends nothing. Rejects once the
 * splitter has stopped.
 */
export class PassRequests {
  private begun = 0;
  private waiters: Array<{ after: number; resolve: () => void; reject: (error: Error) => void }> = [];
  private stopped: Error | null = null;
  /** Set by runSplitter while its loop runs. */
  wake: () => void = () => {};

  request(): Promise<void> {
    if (this.stopped) return Promise.reject(this.stopped);
    const after = this.begun;
    const done = new Promise<void>((resolve, reject) => this.waiters.push({ after, resolve, reject }));
    this.wake();
    return done;
  }

  /** The loop: a pass begins; returns its number. */
  begin(): number {
    return ++this.begun;
  }

  /** The loop: pass `n` split everything `log` held when it began. */
  end(n: number): void {
    const ready = this.waiters.filter((w) => w.after < n);
    this.waiters = this.waiters.filter((w) => w.after >= n);
    for (const w of ready) w.resolve();
  }

  /** The loop is gone: no pass will come. */
  stop(): void {
    this.stopped = new Error('the splitter has stopped');
    for (const w of this.waiters.splice(0)) w.reject(this.stopped);
  }
}

export async function runSplitter(options: WatchOptions): Promise<SplitStats> {
  const splitter = ChannelSplitter.open(options);
  const interesting = (name: string): boolean => {
    if (name === 'log') return true;
    options.onOtherFile?.(name);
    return false;
  };
  const waker = new Waker(options.channelDir, interesting, options.pollMs ?? 1000, options.signal, options.onWatchFailed, options.coalesceMs ?? 0);
  const requests = options.requests;
  if (requests) requests.wake = () => waker.fire();
  let storageRetryMs = 0; // > 0 while the channel directory cannot be written
  try {
    while (!splitter.stopRequested()) {
      waker.clear(); // whatever happened before this line, the pass below sees
      const pass = requests?.begin() ?? 0;
      let outcome: PassOutcome;
      try {
        // A leftover log-run is always split first, so no new `log` is taken while one is pending.
        outcome = await splitter.drainRun();
        if (outcome !== 'stopped') outcome = await splitter.takeLog();
        if (outcome !== 'stopped') requests?.end(pass);
        if (storageRetryMs > 0) {
          storageRetryMs = 0;
          options.onStorageError?.(null);
        }
      } catch (error) {
        // A stop that cut a lock wait short: what is done stays done, the rest resumes on restart.
        if ((error as NodeJS.ErrnoException).code === 'ECANCELED' && splitter.stopRequested()) break;
        if (isStorageError(error)) {
          if (storageRetryMs === 0) options.onStorageError?.(error as Error);
          storageRetryMs = Math.min(STORAGE_RETRY_MAX_MS, storageRetryMs === 0 ? STORAGE_RETRY_FIRST_MS : storageRetryMs * 2);
          await sleepUnlessAborted(storageRetryMs, options.signal);
          continue;
        }
        if ((error as NodeJS.ErrnoException).code !== 'ETIMEDOUT') throw error;
        options.onRetry?.(error as Error);
        outcome = 'empty';
      }
      if (outcome === 'empty') await waker.wait();
    }
    return splitter.stats;
  } finally {
    requests?.stop();
    waker.close();
    splitter.close();
  }
}

function sleepUnlessAborted(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}
