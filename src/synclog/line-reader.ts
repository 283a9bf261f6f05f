/**
 * Streams a static file (a log-run: its writers are drained) as batches of
 * lines, from a byte offset, with one reusable read buffer: memory stays
 * bounded whatever the file size. A batch ends at a line boundary, so its
 * end offset is a valid resume point for the checkpoint.
 *
 * Open, stat, close and reads of up to SYNC_READ_MAX bytes are synchronous:
 * a steady-state log-run is a few hundred bytes in the page cache, read in
 * microseconds, and each of these as a libuv pool round trip cost more CPU
 * than the read itself. Larger reads go to the pool, off the event loop.
 */
import fs from 'node:fs';

/** Reads up to this size are done on the calling thread. */
const SYNC_READ_MAX = 256 * 1024;

/** How a line ended. */
export const LINE_END = {
  /** Ended by LF (not included in the line). */
  LF: 0,
  /** Last line of the file, cut off without LF (a torn write). */
  EOF: 1,
  /** Longer than the read buffer: only a prefix is in the batch; see oversizedLength. */
  OVERSIZED: 2,
} as const;

export class LineBatch {
  /** Holds the batch's bytes; reused by the next read. */
  buf: Buffer = Buffer.alloc(0);
  count = 0;
  /** Line i is buf[starts[i], ends[i]), without its LF. */
  readonly starts: Int32Array;
  readonly ends: Int32Array;
  readonly endings: Uint8Array;
  /** File offset of buf[0]: line i starts at fileOffset + starts[i]. */
  fileOffset = 0;
  /** File offset just past the batch: where the next batch starts. */
  endOffset = 0;
  /** Full length (without LF) of an OVERSIZED line, which is then the batch's only line. */
  oversizedLength = 0;

  constructor(maxLines: number) {
    this.starts = new Int32Array(maxLines);
    this.ends = new Int32Array(maxLines);
    this.endings = new Uint8Array(maxLines);
  }
}

export interface LineReaderOptions {
  /** Lines per batch at most. Default 65536. */
  readonly maxLines?: number;
  /** Read buffer size, the most bytes per batch. Default 4 MiB. */
  readonly chunkBytes?: number;
}

const LF = 0x0a;

export class LineReader {
  private readonly buf: Buffer;
  private readonly batch: LineBatch;
  private position: number;

  private constructor(
    private readonly fd: number,
    readonly size: number,
    startOffset: number,
    options: LineReaderOptions,
  ) {
    // Sized to what there is to read: a steady-state log-run is a few hundred bytes, and a
    // 4 MiB buffer plus 576 KiB of line arrays per pass was most of a pass's garbage.
    const span = Math.max(1, size - startOffset);
    this.buf = Buffer.allocUnsafe(Math.min(options.chunkBytes ?? 4 * 1024 * 1024, span));
    this.batch = new LineBatch(Math.min(options.maxLines ?? 65536, span + 1));
    this.position = startOffset;
  }

  static async open(path: string, startOffset = 0, options: LineReaderOptions = {}): Promise<LineReader> {
    const fd = fs.openSync(path, 'r');
    try {
      const { size } = fs.fstatSync(fd);
      return new LineReader(fd, size, Math.min(startOffset, size), options);
    } catch (error) {
      fs.closeSync(fd);
      throw error;
    }
  }

  /** Where the next batch starts. */
  get offset(): number {
    return this.position;
  }

  /** The next batch (the same object each time, refilled), or null at end of file. */
  async next(): Promise<LineBatch | null> {
    if (this.position >= this.size) return null;
    const want = Math.min(this.buf.length, this.size - this.position);
    const bytesRead = await this.readFully(this.buf, want, this.position);
    if (bytesRead === 0) return null; // shrank under us: nothing more to read
    const atEof = this.position + bytesRead >= this.size;
    const data = this.buf.subarray(0, bytesRead);
    const batch = this.batch;
    batch.buf = this.buf;
    batch.fileOffset = this.position;
    batch.count = 0;

    const maxLines = batch.starts.length;
    let start = 0;
    while (batch.count < maxLines && start < bytesRead) {
      const lf = data.indexOf(LF, start);
      if (lf < 0) break;
      this.push(start, lf, LINE_END.LF);
      start = lf + 1;
    }
    if (batch.count < maxLines && start < bytesRead && atEof) {
      this.push(start, bytesRead, LINE_END.EOF);
      start = bytesRead;
    }
    if (batch.count === 0) return this.oversized(bytesRead);
    batch.endOffset = this.position + start;
    this.position = batch.endOffset;
    return batch;
  }

  async close(): Promise<void> {
    fs.closeSync(this.fd);
  }

  private push(start: number, end: number, ending: number): void {
    const batch = this.batch;
    batch.starts[batch.count] = start;
    batch.ends[batch.count] = end;
    batch.endings[batch.count] = ending;
    batch.count++;
  }

  /** A line longer than the buffer: keep its prefix, skip ahead to its LF. */
  private async oversized(prefixLength: number): Promise<LineBatch> {
    const batch = this.batch;
    this.push(0, prefixLength, LINE_END.OVERSIZED);
    const probe = Buffer.allocUnsafe(64 * 1024);
    let at = this.position + prefixLength;
    let lineEnd = -1;
    while (at < this.size && lineEnd < 0) {
      const got = await this.readFully(probe, Math.min(probe.length, this.size - at), at);
      if (got === 0) break; // shrank under us: the line ends where the file does now
      const lf = probe.subarray(0, got).indexOf(LF);
      if (lf >= 0) lineEnd = at + lf;
      else at += got;
    }
    const end = lineEnd < 0 ? at : lineEnd;
    batch.oversizedLength = end - this.position;
    batch.endOffset = lineEnd < 0 ? at : lineEnd + 1;
    this.position = batch.endOffset;
    return batch;
  }

  private async readFully(target: Buffer, length: number, position: number): Promise<number> {
    let done = 0;
    while (done < length) {
      const want = length - done;
      const bytesRead = want <= SYNC_READ_MAX
        ? fs.readSync(this.fd, target, done, want, position + done)
        : await new Promise<number>((resolve, reject) => fs.read(this.fd, target, done, want, position + done, (err, n) => (err ? reject(err) : resolve(n))));
      if (bytesRead === 0) break; // shrank under us; treat as end of file
      done += bytesRead;
    }
    return done;
  }
}
