/**
 * ByteSink: a growable byte buffer reused across batches. The splitter's hot
 * path builds every output (shard files, routing keys, quarantine records) by
 * appending bytes here, so a batch costs no per-line allocations.
 */
export class ByteSink {
  bytes: Buffer;
  length = 0;

  constructor(initialCapacity = 64 * 1024) {
    this.bytes = Buffer.allocUnsafe(initialCapacity);
  }

  reset(): void {
    this.length = 0;
  }

  /** Makes room for `extra` more bytes. */
  reserve(extra: number): void {
    const needed = this.length + extra;
    if (needed <= this.bytes.length) return;
    let capacity = this.bytes.length * 2;
    while (capacity < needed) capacity *= 2;
    const grown = Buffer.allocUnsafe(capacity);
    this.bytes.copy(grown, 0, 0, this.length);
    this.bytes = grown;
  }

  pushByte(byte: number): void {
    if (this.length === this.bytes.length) this.reserve(1);
    this.bytes[this.length++] = byte;
  }

  /** Copies src[start, end). Short runs (typical log lines) copy faster in a JS loop than through Buffer.copy. */
  pushRange(src: Uint8Array, start: number, end: number): void {
    const count = end - start;
    this.reserve(count);
    const dst = this.bytes;
    let at = this.length;
    if (count < 96) {
      for (let i = start; i < end; i++) dst[at++] = src[i]!;
    } else {
      dst.set(src.subarray(start, end), at);
      at += count;
    }
    this.length = at;
  }

  /** Appends a byte string (latin1: one char per byte). */
  pushLatin1(text: string): void {
    this.reserve(text.length);
    this.length += this.bytes.write(text, this.length, 'latin1');
  }

  /** A view of the content; valid until the next write. */
  view(): Buffer {
    return this.bytes.subarray(0, this.length);
  }
}
