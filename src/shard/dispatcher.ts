/**
 * Runs work keyed by shard key: one task per key at a time, a key's tasks
 * in submission order, and at most `limit` tasks at once overall. This is
 * what lets one shard keep many users in flight on its one replica
 * connection while each user's lines still go out in log order.
 *
 * A task that throws is reported to onError (the runner treats it as fatal)
 * and its submit() resolves false, as does a task dropped by stop().
 */
type Task = { readonly run: () => Promise<void>; readonly settle: (ran: boolean) => void };

export class KeyedDispatcher {
  private readonly queues = new Map<string, Task[]>();
  private readonly busy = new Set<string>();
  private ready: string[] = [];
  private readyHead = 0;
  private running = 0;
  private queued = 0;
  private stopped = false;
  private idleWaiters: Array<() => void> = [];

  constructor(
    private readonly limit: number,
    private readonly onError: (error: unknown) => void,
  ) {}

  /** Tasks running or waiting. */
  get size(): number {
    return this.running + this.queued;
  }

  get inFlight(): number {
    return this.running;
  }

  /** Resolves true once the task has run, false if it was dropped or threw. */
  submit(key: string, run: () => Promise<void>): Promise<boolean> {
    if (this.stopped) return Promise.resolve(false);
    return new Promise<boolean>((settle) => {
      const queue = this.queues.get(key);
      if (queue) queue.push({ run, settle });
      else {
        this.queues.set(key, [{ run, settle }]);
        if (!this.busy.has(key)) this.ready.push(key);
      }
      this.queued++;
      this.pump();
    });
  }

  /** Drops every task not yet started; running ones finish. */
  stop(): void {
    this.stopped = true;
    for (const queue of this.queues.values()) for (const task of queue) task.settle(false);
    this.queues.clear();
    this.ready = [];
    this.readyHead = 0;
    this.queued = 0;
    this.checkIdle();
  }

  /** Resolves when nothing is running or waiting. */
  idle(): Promise<void> {
    if (this.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private pump(): void {
    while (this.running < this.limit && this.readyHead < this.ready.length) {
      const key = this.ready[this.readyHead++]!;
      const queue = this.queues.get(key);
      const task = queue?.shift();
      if (!queue || !task) continue;
      if (queue.length === 0) this.queues.delete(key);
      this.queued--;
      this.running++;
      this.busy.add(key);
      void this.execute(key, task);
    }
    if (this.readyHead > 1024 && this.readyHead * 2 > this.ready.length) {
      this.ready = this.ready.slice(this.readyHead);
      this.readyHead = 0;
    }
  }

  private async execute(key: string, task: Task): Promise<void> {
    let ran = true;
    try {
      await task.run();
    } catch (error) {
      ran = false;
      this.onError(error);
    }
    this.running--;
    this.busy.delete(key);
    if (this.queues.has(key)) this.ready.push(key);
    task.settle(ran);
    this.pump();
    this.checkIdle();
  }

  private checkIdle(): void {
    if (this.size > 0) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const resolve of waiters) resolve();
  }
}
