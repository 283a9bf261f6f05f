/**
 * Builds a valid twoskip file image (checkpointed form: records in key
 * order, real skiplist levels, all CRCs) for tests and benchmarks that must
 * run without Cyrus. Options corrupt it in the ways the reader must detect.
 */
import { crc32 } from 'node:zlib';

const MAGIC = Buffer.concat([Buffer.from([0xa1, 0x02, 0x8b, 0x0d]), Buffer.from('twoskip file\0\0\0\0', 'latin1')]);
const roundup8 = (n: number): number => (n + 7) & ~7;

export interface TwoskipBuildOptions {
  /** Set the DIRTY flag. */
  dirty?: boolean;
  /** Deterministic level choice; default a fixed LCG. */
  seed?: number;
  /** Extra bytes appended after current_size (a crashed append). */
  trailing?: number;
}

interface Rec {
  key: Buffer;
  value: Buffer;
  level: number;
  offset: number;
  size: number;
}

function headOf(type: string, level: number, keyLen: number, valLen: number): Buffer {
  const longKey = keyLen >= 0xffff;
  const longVal = valLen >= 0xffffffff;
  const h = Buffer.alloc(8 + (longKey ? 8 : 0) + (longVal ? 8 : 0));
  h.write(type, 0, 'latin1');
  h[1] = level;
  h.writeUInt16BE(longKey ? 0xffff : keyLen, 2);
  h.writeUInt32BE(longVal ? 0xffffffff : valLen, 4);
  let p = 8;
  if (longKey) {
    h.writeBigUInt64BE(BigInt(keyLen), p);
    p += 8;
  }
  if (longVal) h.writeBigUInt64BE(BigInt(valLen), p);
  return h;
}

export function buildTwoskip(input: Iterable<readonly [Buffer | string, Buffer | string]>, options: TwoskipBuildOptions = {}): Buffer {
  let seed = options.seed ?? 12345;
  const rand = (): number => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed / 2 ** 32;
  };
  const recs: Rec[] = [...input]
    .map(([k, v]) => ({ key: Buffer.from(k), value: Buffer.from(v), level: 1, offset: 0, size: 0 }))
    .sort((a, b) => Buffer.compare(a.key, b.key));
  let offset = 64 + 272;
  for (const r of recs) {
    while (r.level < 31 && rand() < 0.5) r.level++;
    r.offset = offset;
    r.size = headOf('+', r.level, r.key.length, r.value.length).length + 8 * (r.level + 1) + 8 + roundup8(r.key.length + r.value.length);
    offset += r.size;
  }
  const size = offset;
  const buf = Buffer.alloc(size + (options.trailing ?? 0));

  // Pointer of a node at skiplist level i: the next record that reaches that level.
  const nextAt = (from: number, lvl: number): number => {
    for (let j = from + 1; j < recs.length; j++) if ((recs[j] as Rec).level > lvl) return (recs[j] as Rec).offset;
    return 0;
  };
  const writeNode = (at: number, type: string, level: number, key: Buffer, value: Buffer, idx: number): void => {
    const head = headOf(type, level, key.length, value.length);
    head.copy(buf, at);
    let p = at + head.length;
    for (let slot = 0; slot <= level; slot++, p += 8) {
      // Slots 0 and 1 are the two level-0 pointers (slot 1 left at 0); slot s≥2 is level s-1.
      const ptr = slot === 0 ? nextAt(idx, 0) : slot === 1 ? 0 : nextAt(idx, slot - 1);
      buf.writeBigUInt64BE(BigInt(ptr), p);
    }
    buf.writeUInt32BE(crc32(buf.subarray(at, p)), p);
    key.copy(buf, p + 8);
    value.copy(buf, p + 8 + key.length);
    buf.writeUInt32BE(crc32(buf.subarray(p + 8, p + 8 + roundup8(key.length + value.length))), p + 4);
  };
  writeNode(64, '=', 31, Buffer.alloc(0), Buffer.alloc(0), -1);
  recs.forEach((r, i) => writeNode(r.offset, '+', r.level, r.key, r.value, i));

  MAGIC.copy(buf, 0);
  buf.writeUInt32BE(1, 20);
  buf.writeBigUInt64BE(1n, 24);
  buf.writeBigUInt64BE(BigInt(recs.length), 32);
  buf.writeBigUInt64BE(BigInt(size), 40);
  buf.writeBigUInt64BE(BigInt(size), 48);
  buf.writeUInt32BE(options.dirty ? 1 : 0, 56);
  buf.writeUInt32BE(crc32(buf.subarray(0, 60)), 60);
  return buf;
}
