/**
 * COMPRESS's two directions over the addon's raw zlib streams
 * (native/zlib.cc): every write leaves deflated and sync-flushed, every
 * read is inflated, in call order.
 *
 * Why not node:zlib: its stream sends each write and each flush through a
 * libuv pool thread and back as stream events. For a steady-state message
 * (a few hundred bytes each way) that hand-off cost more of the master's
 * CPU than the compression (bench/RESULTS.md). Small writes are deflated
 * on the spot; a large one (a message body) goes to the pool, so the event
 * loop is not held for milliseconds, and later writes queue behind it to
 * keep the stream in order. The backpressure signal is node's: write()
 * returns false, then 'drain'.
 */
import { EventEmitter } from 'node:events';
import { RawDeflate, RawInflate, type RawZlibStream } from '../native/index.js';

/** From this size on, a write is deflated on a pool thread. */
export const ASYNC_DEFLATE_MIN = 64 * 1024;
/** Queued behind a pool deflate beyond this, write() asks the caller to wait. */
const QUEUE_HIGH_WATER = 1024 * 1024;

export class DeflateLink extends EventEmitter {
  private readonly stream: RawZlibStream;
  private queue: Buffer[] = [];
  private queuedBytes = 0;
  private busy = false;
  private closed = false;
  private needDrain = false;

  constructor(level: number, private readonly output: (data: Buffer) => void, private readonly onError: (error: Error) => void) {
    super();
    this.stream = new RawDeflate(level);
  }

  /** Deflates and hands on `data`; false when the caller should wait for 'drain'. */
  write(data: Buffer): boolean {
    if (this.closed) return true;
    if (this.busy) {
      this.queue.push(data);
      this.queuedBytes += data.length;
    } else {
      this.run(data);
    }
    const ok = !this.busy || this.queuedBytes < QUEUE_HIGH_WATER;
    if (!ok || this.busy) this.needDrain = true;
    return ok && !this.busy;
  }

  close(): void {
    this.closed = true;
    this.queue = [];
    if (!this.busy) this.stream.close();
  }

  private run(data: Buffer): void {
    if (data.length < ASYNC_DEFLATE_MIN) {
      this.emitOutput(this.stream.push(data));
      return;
    }
    this.busy = true;
    this.stream.pushAsync(data, (error, out) => {
      this.busy = false;
      if (this.closed) return this.stream.close();
      if (error) return this.onError(error);
      this.emitOutput(out!);
      this.pump();
    });
  }

  private pump(): void {
    while (!this.busy && this.queue.length > 0 && !this.closed) {
      const next = this.queue.shift()!;
      this.queuedBytes -= next.length;
      this.run(next);
    }
    if (!this.busy && this.needDrain) {
      this.needDrain = false;
      this.emit('drain');
    }
  }

  private emitOutput(out: Buffer): void {
    if (out.length > 0) this.output(out);
  }
}

/** The reading direction: what arrives, inflated at once (inflating is cheap and bounded by the read). */
export class InflateLink {
  private readonly stream: RawZlibStream = new RawInflate();
  private closed = false;

  /** Throws (code EZLIB) on data that is not a raw DEFLATE stream. */
  push(wire: Buffer): Buffer {
    return this.closed ? Buffer.alloc(0) : this.stream.push(wire);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.stream.close();
  }
}
