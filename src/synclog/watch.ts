/**
 * Watch mode: keep the channel split as Cyrus writes. Wakes on fs.watch
 * events for `log` in the channel directory, with a poll as a fallback
 * (inotify can miss events, e.g. on network filesystems), so a new line is
 * picked up within milliseconds. Ends on the abort signal or the shutdown
 * file, between batches.
 */
import fs from 'node:fs';
import { ChannelSplitter, type PassOutcome, type SplitOptions } from './splitter.js';
import type { SplitStats } from './stats.js';

export interface WatchOptions extends SplitOptions {
  /** Poll interval when no event arrives. Default 250 ms. */
  readonly pollMs?: number;
  /** Called when a lock wait timed out; the pass is retried after a poll interval. */
  readonly onRetry?: (error: Error) => void;
}

export async function runSplitter(options: WatchOptions): Promise<SplitStats> {
  const splitter = ChannelSplitter.open(options);
  const waker = new Waker(options.channelDir, 'log', options.pollMs ?? 250, options.signal);
  try {
    while (!splitter.stopRequested()) {
      waker.clear(); // whatever happened before this line, the pass below sees
      let outcome: PassOutcome;
      try {
        outcome = await splitter.drainRun();
        if (outcome !== 'stopped') outcome = await splitter.takeLog();
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ETIMEDOUT') throw error;
        options.onRetry?.(error as Error);
        outcome = 'empty';
      }
      if (outcome === 'empty') await waker.wait();
    }
    return splitter.stats;
  } finally {
    waker.close();
    splitter.close();
  }
}

/** Resolves wait() on a matching fs.watch event, after pollMs, or on abort. */
class Waker {
  private fired = false;
  private wake: (() => void) | null = null;
  private readonly watcher: fs.FSWatcher | null;
  private readonly onAbort = (): void => this.fire();

  constructor(dir: string, name: string, private readonly pollMs: number, private readonly signal?: AbortSignal) {
    this.watcher = watchDirectory(dir, (filename) => {
      if (filename === null || filename === name) this.fire();
    });
    signal?.addEventListener('abort', this.onAbort);
  }

  clear(): void {
    this.fired = false;
  }

  async wait(): Promise<void> {
    if (this.fired || this.signal?.aborted) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, this.pollMs);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.wake = done;
    });
    this.wake = null;
  }

  close(): void {
    this.watcher?.close();
    this.signal?.removeEventListener('abort', this.onAbort);
    this.wake?.();
  }

  private fire(): void {
    this.fired = true;
    this.wake?.();
  }
}

function watchDirectory(dir: string, onEvent: (filename: string | null) => void): fs.FSWatcher | null {
  try {
    const watcher = fs.watch(dir, { persistent: false }, (_event, filename) => onEvent(filename));
    watcher.on('error', () => watcher.close()); // fall back to polling
    return watcher;
  } catch {
    return null; // no inotify here: polling alone
  }
}
