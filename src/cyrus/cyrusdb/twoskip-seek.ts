/**
 * Point lookups and prefix scans in a twoskip file without reading it whole:
 * a skiplist descent from the DUMMY over positioned reads (O(log n) records),
 * then a level-0 walk. Same rules and checks as the full decoder (twoskip.ts):
 * level-0 slot choice by current_size, DELETE hops, head and tail CRCs, DIRTY
 * or size ≠ current_size → DbBusyError; and every forward pointer must lead
 * to a greater key, so a corrupt loop ends in CyrusDbError. Keys compare as
 * raw bytes, the order Cyrus 3.6 uses for mailboxes.db, seen and annotations.
 * The reader callback must read under the caller's shared lock (see
 * readLockedDb in open.ts).
 */
import { crc32 } from 'node:zlib';
import { decodeTwoskipHeader, TWOSKIP_HEADER_SIZE, type TwoskipHeader } from './twoskip.js';
import { CyrusDbError, DbBusyError, roundUp, type Entry } from './types.js';

/** Reads up to `length` bytes at `offset` (short only at end of file). */
export type ReadAt = (offset: number, length: number) => Buffer;

const DUMMY_OFFSET = 64;
const T_RECORD = 0x2b;
const T_DELETE = 0x2d;
const DIRTY = 1;
const MAXLEVEL = 31;
const roundup8 = (n: number): number => roundUp(n, 8);

interface Node {
  offset: number;
  type: number;
  level: number;
  next: number[];
  keyOffset: number;
  keyLen: number;
  valLen: number;
  tailCrc: number;
  key: Buffer;
}

export class TwoskipSeeker {
  readonly header: TwoskipHeader;
  readonly #read: ReadAt;
  readonly #path: string;
  readonly #cache = new Map<number, Node>();

  /** `fileSize` is the size of the locked file (fstat), to detect an uncommitted tail. */
  constructor(read: ReadAt, fileSize: number, path = '') {
    this.#read = read;
    this.#path = path;
    this.header = decodeTwoskipHeader(read(0, TWOSKIP_HEADER_SIZE), path);
    if (this.header.flags & DIRTY) throw new DbBusyError('twoskip: DIRTY flag set (writer active or crashed)', path);
    if (fileSize !== this.header.currentSize) throw new DbBusyError(`twoskip: file size ${fileSize} != current_size ${this.header.currentSize}`, path);
  }

  #bad(what: string, offset: number): never {
    throw new CyrusDbError(`twoskip: ${what} at offset 0x${offset.toString(16)}`, this.#path);
  }

  #node(offset: number): Node {
    const cached = this.#cache.get(offset);
    if (cached) return cached;
    const end = this.header.currentSize;
    if (offset < DUMMY_OFFSET || offset % 8 !== 0 || offset + 24 > end) this.#bad('bad record offset', offset);
    // One read covers the head of any record up to MAXLEVEL plus a short key.
    let head = this.#read(offset, Math.min(8 + 16 + 8 * (MAXLEVEL + 1) + 8 + 64, end - offset));
    const type = head[0] as number;
    const level = head[1] as number;
    if (level > MAXLEVEL) this.#bad(`invalid level ${level}`, offset);
    let p = 8;
    let keyLen = head.readUInt16BE(2);
    let valLen = head.readUInt32BE(4);
    if (keyLen === 0xffff) {
      keyLen = Number(head.readBigUInt64BE(p));
      p += 8;
    }
    if (valLen === 0xffffffff) {
      valLen = Number(head.readBigUInt64BE(p));
      p += 8;
    }
    const crcAt = p + 8 * (level + 1);
    if (offset + crcAt + 8 + roundup8(keyLen + valLen) > end) this.#bad('record past end of file', offset);
    if (head.length < crcAt + 8 + keyLen) head = this.#read(offset, crcAt + 8 + keyLen);
    const next: number[] = [];
    for (let i = 0; i <= level; i++) next.push(Number(head.readBigUInt64BE(p + 8 * i)));
    if (crc32(head.subarray(0, crcAt)) !== head.readUInt32BE(crcAt)) this.#bad('checksum head error', offset);
    const node: Node = {
      offset,
      type,
      level,
      next,
      keyOffset: offset + crcAt + 8,
      keyLen,
      valLen,
      tailCrc: head.readUInt32BE(crcAt + 4),
      key: Buffer.from(head.subarray(crcAt + 8, crcAt + 8 + keyLen)),
    };
    this.#cache.set(offset, node);
    return node;
  }

  /** _getloc; level 0 chooses between the two slots by current_size. */
  #nextAt(n: Node, level: number): number {
    if (level > 0) return n.next[level + 1] ?? 0;
    const a = n.next[0] ?? 0;
    const b = n.next[1] ?? 0;
    const end = this.header.currentSize;
    if (a >= end) return b;
    if (b >= end) return a;
    return a > b ? a : b;
  }

  /**
   * A forward pointer must lead to a greater key (the DUMMY sorts first):
   * nodes are cached, so a corrupt pointer loop would otherwise spin
   * forever without a single read.
   */
  #checkOrder(from: Node, to: Node): void {
    if (to.offset === DUMMY_OFFSET || (from.offset !== DUMMY_OFFSET && Buffer.compare(to.key, from.key) <= 0)) this.#bad('keys out of order', to.offset);
  }

  /** The next live record after `n` at level 0, hopping over DELETE records. */
  #nextRecord(n: Node): Node | null {
    let off = this.#nextAt(n, 0);
    for (let guard = 0; off !== 0; guard++) {
      if (guard > 64) this.#bad('DELETE chain too long', off);
      const r = this.#node(off);
      if (r.type === T_RECORD) {
        this.#checkOrder(n, r);
        return r;
      }
      if (r.type !== T_DELETE) this.#bad(`unexpected record type 0x${r.type.toString(16)} in chain`, off);
      off = r.next[0] ?? 0;
    }
    return null;
  }

  /** First record whose key is >= `key`. */
  #seek(key: Buffer): Node | null {
    let node = this.#node(DUMMY_OFFSET);
    for (let level = MAXLEVEL - 1; level >= 1; level--) {
      for (;;) {
        const off = this.#nextAt(node, level);
        if (off === 0) break;
        const cand = this.#node(off);
        this.#checkOrder(node, cand);
        if (Buffer.compare(cand.key, key) >= 0) break;
        node = cand;
      }
    }
    let r = this.#nextRecord(node);
    while (r && Buffer.compare(r.key, key) < 0) r = this.#nextRecord(r);
    return r;
  }

  #entry(r: Node): Entry {
    const kv = this.#read(r.keyOffset, roundup8(r.keyLen + r.valLen));
    if (crc32(kv) !== r.tailCrc) this.#bad('invalid tail crc', r.offset);
    return { key: kv.subarray(0, r.keyLen), value: kv.subarray(r.keyLen, r.keyLen + r.valLen) };
  }

  get(key: Buffer): Buffer | undefined {
    const r = this.#seek(key);
    return r && r.key.equals(key) ? this.#entry(r).value : undefined;
  }

  /** Records whose key starts with `prefix`, in key order. */
  *scan(prefix: Buffer): IterableIterator<Entry> {
    for (let r = this.#seek(prefix); r; r = this.#nextRecord(r)) {
      if (r.key.length < prefix.length || r.key.compare(prefix, 0, prefix.length, 0, prefix.length) !== 0) return;
      yield this.#entry(r);
    }
  }
}
