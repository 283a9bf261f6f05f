/**
 * How many lines one key has pending in a shard's retry journal, read from
 * the file (the journal's owner is a worker thread; `syncmux wait` runs in
 * the main thread). Replays only that key's `+` and `-` records, in file
 * order, the way the journal's index does. Safe against the writer: a
 * compaction replaces the file by rename (we read the old or the new one,
 * both complete), and a record still being appended (no LF yet) is left
 * out, as the journal itself does on open.
 */
import fs from 'node:fs';
import { parseRecord } from '../shard/index.js';

export function pendingLines(journal: string, key: string): number {
  let text: string;
  try {
    text = fs.readFileSync(journal, 'latin1');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 0; // removed when nothing is pending
    throw error;
  }
  let pending = 0;
  const complete = text.lastIndexOf('\n') + 1;
  for (let start = 0; start < complete; ) {
    const end = text.indexOf('\n', start);
    const record = parseRecord(text.slice(start, end));
    start = end + 1;
    if (record === null || record.key !== key) continue;
    if (record.kind === '+') pending++;
    else if (record.kind === '-') pending = Math.max(0, pending - record.count);
  }
  return pending;
}
