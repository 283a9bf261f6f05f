/**
 * Quarantine: lines the splitter cannot route are not dropped but appended to
 * `quarantine` in the channel directory, one record per line:
 *
 *   <ISO-8601 UTC time> TAB offset=<byte offset in log-run> TAB <reason> TAB <raw line bytes> LF
 *
 * The raw line is last, unchanged (it may hold TABs or 8-bit bytes), so
 * `cut -f4-` recovers it for replay once fixed. Records are buffered per
 * batch and appended with the batch, before the checkpoint moves past them.
 */
import { ByteSink } from './byte-sink.js';

/** Longest part of a line a record keeps; longer lines are cut and say so in the reason. */
export const QUARANTINE_MAX_LINE_BYTES = 64 * 1024;

export class QuarantineBuffer {
  readonly records = new ByteSink(4096);
  count = 0;
  private time = '';

  /** Starts a batch; all its records share one timestamp. */
  reset(): void {
    this.records.reset();
    this.count = 0;
    this.time = '';
  }

  add(src: Uint8Array, start: number, end: number, fileOffset: number, reason: string): void {
    if (this.time === '') this.time = new Date().toISOString();
    const kept = Math.min(end - start, QUARANTINE_MAX_LINE_BYTES);
    this.records.pushLatin1(`${this.time}\toffset=${fileOffset}\t${reason.replace(/[\t\n]/g, ' ')}\t`);
    this.records.pushRange(src, start, start + kept);
    this.records.pushByte(0x0a);
    this.count++;
  }
}

/** Splits a quarantine record back into its fields (for tools and tests). */
export function parseQuarantineRecord(record: Buffer): { time: string; offset: number; reason: string; line: Buffer } | null {
  const tabs: number[] = [];
  for (let i = 0; i < record.length && tabs.length < 3; i++) if (record[i] === 0x09) tabs.push(i);
  if (tabs.length < 3) return null;
  const [t1, t2, t3] = tabs as [number, number, number];
  const offsetField = record.toString('latin1', t1 + 1, t2);
  if (!offsetField.startsWith('offset=')) return null;
  const end = record[record.length - 1] === 0x0a ? record.length - 1 : record.length;
  return {
    time: record.toString('latin1', 0, t1),
    offset: Number(offsetField.slice('offset='.length)),
    reason: record.toString('latin1', t2 + 1, t3),
    line: record.subarray(t3 + 1, end),
  };
}
