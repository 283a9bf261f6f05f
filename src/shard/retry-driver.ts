/**
 * Decides when users in the retry journal get their next attempt: a scan
 * submits every key that is due (not skipped, not already in flight) to
 * the dispatcher, so a retry never overlaps that user's other work, and
 * arms one timer for the next due time. Retries take at most maxInFlight
 * of the dispatcher's slots, so a large backlog cannot crowd out users
 * whose lines are flowing.
 */
import type { Delivery } from './delivery.js';
import type { ControlFiles } from './control-files.js';
import type { KeyedDispatcher } from './dispatcher.js';
import type { RetryJournal } from './retry-journal.js';

export interface RetryDriverOptions {
  readonly journal: RetryJournal;
  readonly control: ControlFiles;
  readonly dispatcher: KeyedDispatcher;
  readonly delivery: Delivery;
  /** Lines per retry batch at most. */
  readonly maxLines: number;
  /** Retry batches in flight at most. */
  readonly maxInFlight: number;
}

export class RetryDriver {
  private readonly inflight = new Set<string>();
  private timer: NodeJS.Timeout | null = null;
  private timerAt = Infinity;
  private scanPending = false;
  /** A due key was left out for want of a slot: look again when one frees. */
  private capped = false;
  private stopped = false;
  private settledWaiters: Array<() => void> = [];

  constructor(private readonly options: RetryDriverOptions) {}

  get active(): number {
    return this.inflight.size;
  }

  /** A key may be tried at dueMs (0: now). */
  due(dueMs: number): void {
    if (dueMs <= Date.now()) this.scanSoon();
    else this.arm(dueMs);
  }

  /** Submits the keys due by `cutoff`; returns how many. */
  scan(cutoff = Date.now()): number {
    if (this.stopped) return 0;
    const { journal, control, maxInFlight } = this.options;
    let next = Infinity;
    let submitted = 0;
    let unwritten = false;
    this.capped = false;
    for (const [key, queue] of journal.index.keys) {
      if (this.inflight.has(key) || queue.pending === 0 || control.isSkipped(key)) continue;
      if (queue.dueMs > cutoff) {
        next = Math.min(next, queue.dueMs);
      } else if ((queue.first()?.offset ?? -1) < 0) {
        unwritten = true; // its append is in progress; look again once it is on disk
      } else if (this.inflight.size < maxInFlight) {
        this.start(key);
        submitted++;
      } else {
        this.capped = true;
      }
    }
    if (unwritten) void journal.flush().then(() => this.scanSoon(), () => {});
    this.arm(next);
    return submitted;
  }

  /** Once mode: retries whatever is due now, until nothing due is left (failures get a later due time). */
  async drainDue(): Promise<void> {
    const cutoff = Date.now();
    for (;;) {
      await this.options.journal.flush();
      const submitted = this.scan(cutoff);
      if (submitted === 0 && this.inflight.size === 0) return;
      await this.settled();
    }
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  /** Resolves when no retry is in flight. */
  settled(): Promise<void> {
    if (this.inflight.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.settledWaiters.push(resolve));
  }

  private start(key: string): void {
    const { dispatcher, delivery, maxLines } = this.options;
    this.inflight.add(key);
    void dispatcher.submit(key, () => delivery.retry(key, maxLines)).then(() => {
      this.inflight.delete(key);
      if (this.capped) this.scanSoon();
      if (this.inflight.size === 0) {
        const waiters = this.settledWaiters;
        this.settledWaiters = [];
        for (const resolve of waiters) resolve();
      }
    });
  }

  private scanSoon(): void {
    if (this.scanPending || this.stopped) return;
    this.scanPending = true;
    setImmediate(() => {
      this.scanPending = false;
      this.scan();
    });
  }

  private arm(at: number): void {
    if (at === Infinity || this.stopped || (this.timer && this.timerAt <= at)) return;
    if (this.timer) clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.timerAt = Infinity;
      this.scan();
    }, Math.max(0, at - Date.now()));
    this.timer.unref(); // never what keeps a process alive: the runner's own wait does that
  }
}
