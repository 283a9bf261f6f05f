/**
 * The idle wait of the log consumers (the splitter on `log`, each shard
 * runner on its shard log and touch files): resolves on an fs.watch event
 * for a file the caller cares about, on abort, or after pollMs as a fallback
 * for filesystems where inotify misses events. No fixed sleep sits on the
 * hot path: a consumer waits only when a pass found nothing to do.
 */
import fs from 'node:fs';

export class Waker {
  private fired = false;
  private wake: (() => void) | null = null;
  private readonly watcher: fs.FSWatcher | null;
  private readonly onAbort = (): void => this.fire();

  /**
   * `onWatchFailed` hears, once, that events are not coming (no inotify, or
   * out of watches): from then on only the poll wakes this consumer, which
   * an admin should know, since every change then waits up to pollMs.
   */
  constructor(
    dir: string,
    interesting: (name: string) => boolean,
    private readonly pollMs: number,
    private readonly signal?: AbortSignal,
    onWatchFailed?: (error: Error) => void,
  ) {
    this.watcher = watchDirectory(dir, (name) => {
      if (name === null || interesting(name)) this.fire();
    }, onWatchFailed ?? (() => {}));
    signal?.addEventListener('abort', this.onAbort);
  }

  /** Forget earlier events: whatever happened before this call, the caller is about to look at. */
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

  fire(): void {
    this.fired = true;
    this.wake?.();
  }

  close(): void {
    this.watcher?.close();
    this.signal?.removeEventListener('abort', this.onAbort);
    this.wake?.();
  }
}

function watchDirectory(dir: string, onEvent: (name: string | null) => void, onFailed: (error: Error) => void): fs.FSWatcher | null {
  try {
    const watcher = fs.watch(dir, { persistent: false, encoding: 'buffer' }, (_event, name) =>
      onEvent(name === null ? null : Buffer.from(name).toString('latin1')),
    );
    watcher.on('error', (error) => {
      watcher.close(); // fall back to polling
      onFailed(error);
    });
    return watcher;
  } catch (error) {
    onFailed(error as Error); // no inotify here: polling alone
    return null;
  }
}
