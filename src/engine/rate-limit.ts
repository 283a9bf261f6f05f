/**
 * syncmux_max_bytes_per_second / syncmux_max_messages_per_second: a cap on
 * what the uploads of a whole process send, across all its connections and
 * (the daemon) all its worker threads, so that a catch-up after an outage
 * cannot fill a WAN link. Generic cell rate: one shared "next free" time
 * in a SharedArrayBuffer, advanced with compare-and-swap; a taker waits
 * until its start time. Up to one second of unused rate may be spent at
 * once; a take larger than a second's worth goes out whole and the takers
 * after it wait it off, so the average over a few seconds holds.
 */
export class RateLimit {
  private readonly next: BigInt64Array;

  /** `buffer` from RateLimit.buffer(), shared by every thread of the process. */
  constructor(
    buffer: SharedArrayBuffer,
    readonly perSecond: number,
  ) {
    if (!(perSecond > 0)) throw new RangeError(`rate must be positive, not ${perSecond}`);
    this.next = new BigInt64Array(buffer);
  }

  static buffer(): SharedArrayBuffer {
    return new SharedArrayBuffer(8);
  }

  /** Takes `amount` units: resolves when the cap allows them to go out. */
  async take(amount: number, signal?: AbortSignal): Promise<void> {
    if (amount <= 0) return;
    const costUs = BigInt(Math.ceil((amount / this.perSecond) * 1e6));
    for (;;) {
      const nowUs = BigInt(Math.round(performance.timeOrigin * 1000 + performance.now() * 1000));
      const current = Atomics.load(this.next, 0);
      const start = current > nowUs - 1_000_000n ? current : nowUs - 1_000_000n; // at most 1 s of unused rate
      if (Atomics.compareExchange(this.next, 0, current, start + costUs) !== current) continue;
      const waitMs = Number(start - nowUs) / 1000;
      if (waitMs > 0) await sleep(waitMs, signal);
      return;
    }
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
  });
}

export interface UploadCaps {
  readonly bytes: RateLimit | null;
  readonly messages: RateLimit | null;
}

/** Waits until the caps let these uploads go. */
export async function takeUploads(caps: UploadCaps | null, sizes: readonly number[], signal?: AbortSignal): Promise<void> {
  if (!caps || sizes.length === 0) return;
  await Promise.all([caps.messages?.take(sizes.length, signal), caps.bytes?.take(sizes.reduce((a, b) => a + b, 0), signal)]);
}
