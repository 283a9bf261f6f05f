/**
 * Best-effort CRC repair after a mutation, so fuzzing gets past the checksum
 * checks into the structure behind them. Each walks the image as the format
 * lays it out and stops quietly where the layout no longer makes sense.
 */
import { crc32 } from 'node:zlib';

const HEADER_LENGTH: Readonly<Record<number, number>> = { 12: 128, 13: 128, 14: 160, 15: 160, 16: 160, 17: 160, 18: 160, 19: 160 };
/** Offset of the record CRC by minor version (≥12). */
const RECORD_CRC_AT = (v: number): number => (v === 12 ? 92 : v < 16 ? 100 : 108);

/** twoskip: sets current_size to the image size, then the header, head and tail CRCs of every record in file order. */
export function repairTwoskip(b: Buffer): void {
  if (b.length < 64) return;
  b.writeBigUInt64BE(BigInt(b.length), 48);
  b.writeUInt32BE(crc32(b.subarray(0, 60)), 60);
  let off = 64;
  while (off + 24 <= b.length) {
    const level = b[off + 1]!;
    let p = off + 8;
    let keyLen = b.readUInt16BE(off + 2);
    let valLen = b.readUInt32BE(off + 4);
    if (keyLen === 0xffff) {
      if (p + 8 > b.length) return;
      keyLen = Number(b.readBigUInt64BE(p));
      p += 8;
    }
    if (valLen === 0xffffffff) {
      if (p + 8 > b.length) return;
      valLen = Number(b.readBigUInt64BE(p));
      p += 8;
    }
    p += 8 * (level + 1);
    const kv = Math.ceil((keyLen + valLen) / 8) * 8;
    if (p + 8 > b.length) return;
    b.writeUInt32BE(crc32(b.subarray(off, p)), p);
    if (p + 8 + kv > b.length) return;
    b.writeUInt32BE(crc32(b.subarray(p + 8, p + 8 + kv)), p + 4);
    off = p + 8 + kv;
  }
}

/** cyrus.index (v≥12): the header CRC and each record's CRC at the stored start_offset and record_size. */
export function repairIndex(b: Buffer): void {
  if (b.length < 24) return;
  const v = b.readUInt32BE(8);
  const hl = HEADER_LENGTH[v];
  if (hl === undefined || b.length < hl) return;
  b.writeUInt32BE(crc32(b.subarray(0, hl - 4)), hl - 4);
  const start = b.readUInt32BE(12);
  const size = b.readUInt32BE(16);
  const crcAt = RECORD_CRC_AT(v);
  if (size < crcAt + 4 || start < hl) return;
  for (let o = start; o + size <= b.length && o < start + 64 * size; o += size) b.writeUInt32BE(crc32(b.subarray(o, o + crcAt)), o + crcAt);
}

/** counters: the trailing CRC of the whole file. */
export function repairCounters(b: Buffer): void {
  if (b.length >= 8) b.writeUInt32BE(crc32(b.subarray(0, b.length - 4)), b.length - 4);
}
