/**
 * A count that code can wait on: "until at most n". The run processor uses
 * one for its lines in flight, both as backpressure (read the next chunk
 * only when the last one has mostly drained) and as the barrier's "finish
 * everything before".
 */
export class Gauge {
  private current = 0;
  private waiters: Array<{ readonly max: number; readonly resolve: () => void }> = [];

  get value(): number {
    return this.current;
  }

  add(n: number): void {
    this.current += n;
    if (n < 0) this.wake();
  }

  atMost(max: number): Promise<void> {
    if (this.current <= max) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ max, resolve }));
  }

  private wake(): void {
    const still: typeof this.waiters = [];
    for (const waiter of this.waiters) {
      if (this.current <= waiter.max) waiter.resolve();
      else still.push(waiter);
    }
    this.waiters = still;
  }
}
