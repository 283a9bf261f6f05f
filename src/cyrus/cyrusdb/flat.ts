/**
 * flat decoder (lib/cyrusdb_flat.c): one `key TAB value LF` line per record,
 * kept in Cyrus' mbox sort order. NUL, TAB, CR and LF inside keys or values
 * are escaped as 0xFF followed by (byte | 0x80), and 0xFF itself as FF FF.
 * Writers replace the whole file by rename, so any complete image is
 * consistent; a line without TAB or LF is corruption, as in getentry().
 */
import { CyrusDbError, type Entry } from './types.js';

const ESCAPE = 0xff;
const TAB = 0x09;
const LF = 0x0a;

/** Undoes the flat escaping; returns the input itself when nothing is escaped. */
export function unescapeFlat(b: Buffer): Buffer {
  if (!b.includes(ESCAPE)) return b;
  const out = Buffer.allocUnsafe(b.length);
  let n = 0;
  for (let i = 0; i < b.length; i++) {
    const c = b[i] as number;
    if (c !== ESCAPE) {
      out[n++] = c;
      continue;
    }
    // A lone trailing escape is silently dropped, as Cyrus does.
    if (i + 1 >= b.length) break;
    const d = b[++i] as number;
    out[n++] = d === ESCAPE ? ESCAPE : d & ~0x80;
  }
  return out.subarray(0, n);
}

export function decodeFlat(buf: Buffer, path = ''): { records: Entry[] } {
  const records: Entry[] = [];
  let p = 0;
  while (p < buf.length) {
    const tab = buf.indexOf(TAB, p);
    const lf = buf.indexOf(LF, p);
    if (tab < 0 || lf < 0 || lf < tab) throw new CyrusDbError(`flat: malformed line at offset ${p}`, path);
    records.push({ key: unescapeFlat(buf.subarray(p, tab)), value: unescapeFlat(buf.subarray(tab + 1, lf)) });
    p = lf + 1;
  }
  return { records };
}
