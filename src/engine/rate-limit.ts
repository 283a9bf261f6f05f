/**
 * syncmux_max_bytes_per_second / syncmux_max_messages_per_second: a cap on
 * what the uploads of a whole process send, across all its connections and
 * (the daemon) all its worker threads, so that a catch-up after an outage
 * cannot fill a WAN link. Generic cell rate: one shared theoretical
 * arrival time (when everything taken so far would have gone out at the
 * exact rate) in a SharedArrayBuffer, advanced with compare-and-swap. A
 * take goes out once that time, its own cost included, is at most one
 * second ahead of now: up to a second's worth may go at once, and over any
 * window no more than the rate times the window plus that second goes
 * out, however the takes are sized. A take larger than a second's worth
 * waits for its excess even on an idle cap.
 */
/** How far ahead of the exact rate takers may run: one second's worth at once. */
const BURST_US = 1_000_000n;

export class RateLimit {
  private readonly arrivalUs: BigInt64Array;

  /** `buffer` from RateLimit.buffer(), shared by every thread of the process. */
  constructor(
    buffer: SharedArrayBuffer,
    readonly perSecond: number,
  ) {
    if (!(perSecond > 0)) throw new RangeError(`rate must be positive, not ${perSecond}`);
    this.arrivalUs = new BigInt64Array(buffer);
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
      const current = Atomics.load(this.arrivalUs, 0);
      const arrival = (current > nowUs ? current : nowUs) + costUs; // unused rate is not banked
      if (Atomics.compareExchange(this.arrivalUs, 0, current, arrival) !== current) continue;
      const waitMs = Number(arrival - BURST_US - nowUs) / 1000;
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
