/**
 * Decoded values of small master files, keyed by their exact bytes: a
 * cyrus.header is read under every snapshot but changes only when a user
 * flag is added or the ACL or quota root moves, and decoding its DLIST
 * line cost more than reading it. A value is handed out only for the very
 * bytes it was decoded from, so a hit can never be stale; what a decode
 * throws is not kept. Bounded: the least recently used goes first.
 */
export class ContentMemo<T> {
  private readonly values = new Map<string, T>();

  constructor(readonly capacity = 4096) {
    if (!(capacity >= 1)) throw new RangeError(`capacity must be at least 1, not ${capacity}`);
  }

  /** decode(bytes), or what it returned before for the same bytes. */
  decode(bytes: Buffer, decode: (bytes: Buffer) => T): T {
    const key = bytes.toString('latin1');
    const kept = this.values.get(key);
    if (kept !== undefined) {
      this.values.delete(key); // re-inserted: Map order is recency
      this.values.set(key, kept);
      return kept;
    }
    const value = decode(bytes);
    if (this.values.size >= this.capacity) this.values.delete(this.values.keys().next().value!);
    this.values.set(key, value);
    return value;
  }

  get size(): number {
    return this.values.size;
  }
}
