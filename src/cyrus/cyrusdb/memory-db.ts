/**
 * MemoryDb: the Db implementation over a decoded record list. Lookups use a
 * binary search when the records are in raw byte order (twoskip/skiplist as
 * Cyrus 3.6 opens mailboxes.db, seen, annotations), else a linear scan (flat
 * files are kept in Cyrus' mbox order, and a DB written with MBOXSORT would be
 * too). Prefix scans return a contiguous run in raw order.
 */
import { toKey, type Db, type DetectedBackend, type Entry } from './types.js';

export class MemoryDb implements Db {
  readonly #records: readonly Entry[];
  readonly #rawSorted: boolean;

  constructor(
    readonly backend: DetectedBackend,
    readonly path: string,
    records: readonly Entry[],
  ) {
    this.#records = records;
    let sorted = true;
    for (let i = 1; i < records.length && sorted; i++) {
      sorted = Buffer.compare((records[i - 1] as Entry).key, (records[i] as Entry).key) < 0;
    }
    this.#rawSorted = sorted;
  }

  get size(): number {
    return this.#records.length;
  }

  /** First index whose key is >= k (raw order only). */
  #lowerBound(k: Buffer): number {
    let lo = 0;
    let hi = this.#records.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (Buffer.compare((this.#records[mid] as Entry).key, k) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  get(key: Buffer | string): Buffer | undefined {
    const k = toKey(key);
    if (this.#rawSorted) {
      const e = this.#records[this.#lowerBound(k)];
      return e && e.key.equals(k) ? e.value : undefined;
    }
    return this.#records.find((e) => e.key.equals(k))?.value;
  }

  *entries(prefix?: Buffer | string): IterableIterator<Entry> {
    const p = prefix === undefined ? undefined : toKey(prefix);
    if (!p || p.length === 0) {
      yield* this.#records;
      return;
    }
    const starts = (e: Entry): boolean => e.key.length >= p.length && e.key.compare(p, 0, p.length, 0, p.length) === 0;
    if (this.#rawSorted) {
      for (let i = this.#lowerBound(p); i < this.#records.length; i++) {
        const e = this.#records[i] as Entry;
        if (!starts(e)) return;
        yield e;
      }
      return;
    }
    for (const e of this.#records) if (starts(e)) yield e;
  }
}
