/**
 * The idle wait of the log consumers (the splitter on `log`, each shard
 * runner on its shard log and touch files): resolves on an fs.watch event
 * for a file the caller cares about, on abort, or after pollMs as a fallback
 * for filesystems where inotify misses events. A consumer waits only when
 * a pass found nothing to do.
 *
 * With a settle time, a consumer under load lets the next pass begin
 * settleMs after the event that woke it, so that the pass carries what the
 * writers log meanwhile instead of one line: Cyrus logs a delivery as two
 * lines some ms apart (APPEND, then MAILBOX at the commit), and one pass per
 * line doubled what each message cost the master's CPU. "Under load" means
 * the previous wait ended less than BUSY_FACTOR × settleMs before the event:
 * a lone change after a quiet spell still goes out at once, which keeps the
 * latency of a quiet server. The settle is measured from the event, so lines
 * that came while a longer pass ran are taken at once, and an explicit
 * fire() (a `syncmux wait`, a stop) never settles.
 */
import fs from 'node:fs';

/** Events closer than this many settle times to the previous wake-up count as load. */
export const BUSY_FACTOR = 5;

export class Waker {
  private fired = false;
  /** performance.now() of the first file event since clear(), or null if none (or only fire()). */
  private eventAt: number | null = null;
  private wake: (() => void) | null = null;
  private settling = false;
  /** performance.now() when the last wait() returned: about when the last pass began. */
  private lastWokeAt = -Infinity;
  private readonly watcher: fs.FSWatcher | null;
  private readonly onAbort = (): void => this.fire();

  /**
   * `onWatchFailed` hears, once, that events are not coming (no inotify, or
   * out of watches): from then on only the poll wakes this consumer, which
   * an admin should know, since every change then waits up to pollMs.
   */
  /** dir null: no watch, only the poll and fire() wake this consumer. */
  constructor(
    dir: string | null,
    interesting: (name: string) => boolean,
    private readonly pollMs: number,
    private readonly signal?: AbortSignal,
    onWatchFailed?: (error: Error) => void,
    private readonly settleMs = 0,
  ) {
    this.watcher = dir === null ? null : watchDirectory(dir, (name) => {
      if (name === null || interesting(name)) this.onEvent();
    }, onWatchFailed ?? (() => {}));
    signal?.addEventListener('abort', this.onAbort);
  }

  /** Forget earlier events: whatever happened before this call, the caller is about to look at. */
  clear(): void {
    this.fired = false;
    this.eventAt = null;
  }

  async wait(): Promise<void> {
    if (!this.fired && !this.signal?.aborted) await this.sleep(this.pollMs);
    this.wake = null;
    await this.settle();
    this.lastWokeAt = performance.now();
  }

  private async settle(): Promise<void> {
    if (this.eventAt === null || this.settleMs <= 0 || this.signal?.aborted) return;
    if (this.eventAt - this.lastWokeAt >= BUSY_FACTOR * this.settleMs) return; // quiet until now: at once
    const left = this.eventAt + this.settleMs - performance.now();
    if (left < 1) return;
    this.settling = true;
    await this.sleep(left);
    this.settling = false;
    this.wake = null;
  }

  /** Ends a wait now, without settling. */
  fire(): void {
    this.fired = true;
    this.eventAt = null;
    this.wake?.();
  }

  private onEvent(): void {
    if (!this.fired) this.eventAt = performance.now();
    this.fired = true;
    if (!this.settling) this.wake?.();
  }

  /** Resolves after ms, or at once on fire()/abort/close. An event during a settle does not cut it short. */
  private sleep(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.wake = done;
    });
  }

  close(): void {
    this.watcher?.close();
    this.signal?.removeEventListener('abort', this.onAbort);
    this.wake?.();
  }
}

function watchDirectory(dir: string, onEvent: (name: string | null) => void, onFailed: (error: Error) => void): fs.FSWatcher | null {
  try {
    // Every event in the directory comes here (the writers' appends, our own renames): keep it cheap.
    const watcher = fs.watch(dir, { persistent: false, encoding: 'buffer' }, (_event, name: Buffer | null) =>
      onEvent(name === null ? null : name.toString('latin1')),
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
