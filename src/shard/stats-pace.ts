/**
 * How often a shard worker publishes its stats row: every `fastMs` while
 * the row changes, every `idleMs` once it has stayed the same for
 * `quietTicks` publishes in a row. An idle daemon's workers otherwise woke
 * every second to copy an unchanged row. A change seen between ticks (a
 * pass ending) brings the fast pace back at once. Pure: the worker owns
 * the timer.
 */
export class StatsPace {
  private last: string | null = null;
  private quiet = 0;

  constructor(
    private readonly fastMs: number,
    private readonly idleMs: number,
    private readonly quietTicks = 3,
  ) {}

  /** After publishing a row whose content (without its timestamp) is `fingerprint`: the delay until the next publish. */
  next(fingerprint: string): number {
    this.quiet = fingerprint === this.last ? this.quiet + 1 : 0;
    this.last = fingerprint;
    return this.quiet >= this.quietTicks ? Math.max(this.fastMs, this.idleMs) : this.fastMs;
  }

  /** A row published between ticks (a pass ended): true if it changed while at the idle pace, so the fast pace should start now. */
  observe(fingerprint: string): boolean {
    if (fingerprint === this.last) return false;
    const wasIdle = this.idle;
    this.last = fingerprint;
    this.quiet = 0;
    return wasIdle;
  }

  /** True while publishing at the idle pace. */
  get idle(): boolean {
    return this.quiet >= this.quietTicks;
  }
}
