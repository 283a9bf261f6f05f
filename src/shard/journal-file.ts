/**
 * Byte-level helpers for the retry journal's file: reading back records by
 * offset, grouping records that sit back to back into one read, and
 * cutting off a torn last record after a crash.
 */
import fs from 'node:fs';
import type { Entry } from './journal-index.js';
import { SyncmuxError } from '../errors.js';

export class JournalCorruptError extends SyncmuxError {
  constructor(message: string, options?: ErrorOptions) {
    super('SYNCMUX_JOURNAL_CORRUPT', message, options);
  }
}

/** Groups entries into runs that sit back to back in the file: [start, end, entries]. */
export function contiguousRuns(entries: readonly Entry[]): Array<[number, number, Entry[]]> {
  const runs: Array<[number, number, Entry[]]> = [];
  for (const entry of entries) {
    const last = runs[runs.length - 1];
    if (last && last[1] === entry.offset) {
      last[1] += entry.length;
      last[2].push(entry);
    } else {
      runs.push([entry.offset, entry.offset + entry.length, [entry]]);
    }
  }
  return runs;
}

export function readRange(fd: number, offset: number, length: number): Buffer {
  const out = Buffer.allocUnsafe(length);
  let done = 0;
  while (done < length) {
    const got = fs.readSync(fd, out, done, length - done, offset + done);
    if (got === 0) throw new JournalCorruptError(`retry journal shorter than expected at offset ${offset + done}`);
    done += got;
  }
  return out;
}

/**
 * Cuts a torn last record (a crash mid-append) off the journal; returns the
 * size left. Its append was never acknowledged, so its lines are still in
 * their source; keeping it, even LF-terminated, could keep a cut-short name.
 */
export function trimTornTail(file: string): number {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r+');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw error;
  }
  try {
    const size = fs.fstatSync(fd).size;
    let keep = 0;
    const chunk = Buffer.allocUnsafe(64 * 1024);
    for (let end = size; end > 0; ) {
      const start = Math.max(0, end - chunk.length);
      const got = fs.readSync(fd, chunk, 0, end - start, start);
      const lf = chunk.subarray(0, got).lastIndexOf(0x0a);
      if (lf >= 0) {
        keep = start + lf + 1;
        break;
      }
      end = start;
    }
    if (keep < size) {
      fs.ftruncateSync(fd, keep);
      fs.fdatasyncSync(fd);
    }
    return keep;
  } finally {
    fs.closeSync(fd);
  }
}
