/**
 * String interning for the cursor. A big reply repeats the same keys and
 * many values (`0`, `""`, partition and annotation names, flags) hundreds
 * of thousands of times; a small direct-mapped table, keyed by a hash the
 * cursor computes while it scans, hands back one shared string instead of
 * a fresh slice each time — fewer objects, less GC. The table lives only as
 * long as one frame, so it never pins a frame's text after parsing.
 */
const BITS = 12;
const MASK = (1 << BITS) - 1;
/** Longer strings (GUIDs, names) rarely repeat; slicing them is cheaper than comparing. */
const MAX_LEN = 48;

export class Interner {
  private readonly table: (string | undefined)[] = new Array<string | undefined>(1 << BITS).fill(undefined);

  /** `s.slice(start, end)`, shared with an earlier equal string when there is one. */
  take(s: string, start: number, end: number, hash: number): string {
    const len = end - start;
    if (len > MAX_LEN) return s.slice(start, end);
    const idx = (hash ^ (hash >>> BITS)) & MASK;
    const cand = this.table[idx];
    if (cand !== undefined && cand.length === len) {
      let i = 0;
      while (i < len && cand.charCodeAt(i) === s.charCodeAt(start + i)) i++;
      if (i === len) return cand;
    }
    const str = s.slice(start, end);
    this.table[idx] = str;
    return str;
  }
}
