/**
 * twoskip decoder (lib/cyrusdb_twoskip.c, unchanged 3.6 → master). Pure: takes
 * the file image read under a shared lock and returns the live records in key
 * order by walking the level-0 chain from the DUMMY, with Cyrus' rules:
 * - two alternative level-0 pointers; the effective one is the slot below
 *   current_size, or the larger if both are (_getloc);
 * - a DELETE record is a hop to its single pointer;
 * - header, record-head and record-tail CRC32s are all verified;
 * - DIRTY or a file size ≠ current_size means a writer crashed mid-commit:
 *   DbBusyError (Cyrus repairs it on its next write open; we never do).
 */
import { crc32 } from 'node:zlib';
import { TWOSKIP_MAGIC } from './detect.js';
import { CyrusDbError, DbBusyError, roundUp, type Entry } from './types.js';

export const TWOSKIP_HEADER_SIZE = 64;
const DUMMY_OFFSET = 64;
const MAXLEVEL = 31;
const DIRTY = 1;
const T_DUMMY = 0x3d; // '='
const T_RECORD = 0x2b; // '+'
const T_DELETE = 0x2d; // '-'

export interface TwoskipHeader {
  readonly version: number;
  readonly generation: bigint;
  readonly numRecords: number;
  readonly repackSize: number;
  readonly currentSize: number;
  readonly flags: number;
}

export interface TwoskipFile {
  readonly header: TwoskipHeader;
  readonly records: Entry[];
}

interface RawRecord {
  type: number;
  level: number;
  /** nextloc[0..level]: slots 0 and 1 are the alternative level-0 pointers. */
  next: number[];
  keyOffset: number;
  keyLen: number;
  valLen: number;
}

const u64 = (b: Buffer, o: number): number => {
  const v = b.readBigUInt64BE(o);
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new CyrusDbError(`twoskip: 64-bit field too large at ${o}`);
  return Number(v);
};

const roundup8 = (n: number): number => roundUp(n, 8);

export function decodeTwoskipHeader(buf: Buffer, path = ''): TwoskipHeader {
  if (buf.length < TWOSKIP_HEADER_SIZE) throw new CyrusDbError('twoskip: file not large enough for header', path);
  if (!buf.subarray(0, 20).equals(TWOSKIP_MAGIC)) throw new CyrusDbError('twoskip: invalid magic header', path);
  const version = buf.readUInt32BE(20);
  if (version > 1) throw new CyrusDbError(`twoskip: version mismatch: has version ${version}`, path);
  if (crc32(buf.subarray(0, 60)) !== buf.readUInt32BE(60)) throw new CyrusDbError('twoskip: header CRC failure', path);
  return {
    version,
    generation: buf.readBigUInt64BE(24),
    numRecords: u64(buf, 32),
    repackSize: u64(buf, 40),
    currentSize: u64(buf, 48),
    flags: buf.readUInt32BE(56),
  };
}

function readRecord(buf: Buffer, offset: number, end: number, path: string): RawRecord {
  const bad = (what: string): never => {
    throw new CyrusDbError(`twoskip: ${what} at offset 0x${offset.toString(16)}`, path);
  };
  if (offset < DUMMY_OFFSET || offset % 8 !== 0 || offset + 24 > end) bad('bad record offset');
  const type = buf[offset] as number;
  const level = buf[offset + 1] as number;
  if (level > MAXLEVEL) bad(`invalid level ${level}`);
  let p = offset + 8;
  let keyLen = buf.readUInt16BE(offset + 2);
  let valLen = buf.readUInt32BE(offset + 4);
  if (keyLen === 0xffff) {
    keyLen = u64(buf, p);
    p += 8;
  }
  if (valLen === 0xffffffff) {
    valLen = u64(buf, p);
    p += 8;
  }
  const headLen = p - offset + 8 * (level + 1);
  if (offset + headLen + 8 + roundup8(keyLen + valLen) > end) bad('record past end of file');
  const next: number[] = [];
  // Pointers are only compared with offsets, so a lossy Number for absurd values is fine (they fail the CRC anyway).
  for (let i = 0; i <= level; i++, p += 8) next.push(Number(buf.readBigUInt64BE(p)));
  if (crc32(buf.subarray(offset, p)) !== buf.readUInt32BE(p)) bad('checksum head error');
  const keyOffset = p + 8;
  if (type === T_RECORD) {
    const tail = crc32(buf.subarray(keyOffset, keyOffset + roundup8(keyLen + valLen)));
    if (tail !== buf.readUInt32BE(p + 4)) bad('invalid tail crc');
  }
  return { type, level, next, keyOffset, keyLen, valLen };
}

/** _getloc(level 0): prefer the slot that is below the committed end, else the higher one. */
function nextLevel0(r: RawRecord, end: number): number {
  const a = r.next[0] ?? 0;
  const b = r.next[1] ?? 0;
  if (a >= end) return b;
  if (b >= end) return a;
  return a > b ? a : b;
}

/**
 * Decodes a whole twoskip file image. `buf` must hold at least current_size
 * bytes; the live records are returned as subarrays of it.
 */
export function decodeTwoskip(buf: Buffer, path = ''): TwoskipFile {
  const header = decodeTwoskipHeader(buf, path);
  if (header.flags & DIRTY) throw new DbBusyError('twoskip: DIRTY flag set (writer active or crashed)', path);
  if (buf.length !== header.currentSize) {
    throw new DbBusyError(`twoskip: file size ${buf.length} != current_size ${header.currentSize}`, path);
  }
  const end = header.currentSize;
  const dummy = readRecord(buf, DUMMY_OFFSET, end, path);
  if (dummy.type !== T_DUMMY) throw new CyrusDbError('twoskip: no DUMMY record', path);

  const records: Entry[] = [];
  // Every hop lands on a distinct record of at least 24 bytes, so this bounds any pointer loop.
  let budget = Math.floor(end / 24) + 1;
  let offset = nextLevel0(dummy, end);
  while (offset !== 0) {
    if (--budget < 0) throw new CyrusDbError('twoskip: pointer loop', path);
    const rec = readRecord(buf, offset, end, path);
    if (rec.type === T_DELETE) {
      offset = rec.next[0] ?? 0;
      continue;
    }
    if (rec.type !== T_RECORD) throw new CyrusDbError(`twoskip: unexpected record type 0x${rec.type.toString(16)} in chain`, path);
    records.push({
      key: buf.subarray(rec.keyOffset, rec.keyOffset + rec.keyLen),
      value: buf.subarray(rec.keyOffset + rec.keyLen, rec.keyOffset + rec.keyLen + rec.valLen),
    });
    offset = nextLevel0(rec, end);
  }
  if (records.length !== header.numRecords) {
    throw new CyrusDbError(`twoskip: walked ${records.length} records, header says ${header.numRecords}`, path);
  }
  return { header, records };
}
