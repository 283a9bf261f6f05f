/**
 * Point lookups and prefix scans in a skiplist file (the conversations DB's
 * default backend) without reading it whole: a descent from the DUMMY over
 * positioned reads, then a level-0 walk. Cyrus rewrites forward pointers in
 * place on every commit, so under the shared lock the pointer chains are the
 * live list, as for the full decoder (skiplist.ts), with the same check that
 * the log ends in a commit (else DbBusyError). Keys compare as raw bytes, the
 * order Cyrus uses for every skiplist but an old mailboxes.db.
 */
import { decodeSkiplistHeader, SKIPLIST_HEADER_SIZE, SKIPLIST_NODE, skiplistEndsCleanly, type SkiplistHeader } from './skiplist.js';
import type { ReadAt } from './twoskip-seek.js';
import { CyrusDbError, DbBusyError, roundUp, type Entry } from './types.js';

const { INORDER, ADD, DUMMY, PAD } = SKIPLIST_NODE;
const roundup4 = (n: number): number => roundUp(n, 4);
/** One read covers a typical node: header, a short key and value, and its pointers. */
const FIRST_READ = 512;

interface Node {
  offset: number;
  key: Buffer;
  valueOffset: number;
  valueLen: number;
  /** Forward pointers, level 0 first. */
  next: number[];
}

export class SkiplistSeeker {
  readonly header: SkiplistHeader;
  readonly #read: ReadAt;
  readonly #size: number;
  readonly #path: string;
  readonly #cache = new Map<number, Node>();

  /** `fileSize` is the size of the locked file (fstat). */
  constructor(read: ReadAt, fileSize: number, path = '') {
    this.#read = read;
    this.#size = fileSize;
    this.#path = path;
    this.header = decodeSkiplistHeader(read(0, SKIPLIST_HEADER_SIZE), path);
    if (this.header.version !== 1) throw new CyrusDbError(`skiplist: unsupported version ${this.header.version}`, path);
    const last12 = fileSize >= 12 ? read(fileSize - 12, 12) : Buffer.alloc(0);
    if (!skiplistEndsCleanly(fileSize, this.header.logStart, last12)) {
      throw new DbBusyError('skiplist: log does not end in a commit (crashed writer)', path);
    }
  }

  #bad(what: string, offset: number): never {
    throw new CyrusDbError(`skiplist: ${what} at offset 0x${offset.toString(16)}`, this.#path);
  }

  #word(buf: Buffer, base: number, at: number): number {
    if (at - base + 4 <= buf.length) return buf.readUInt32BE(at - base);
    return this.#read(at, 4).readUInt32BE(0);
  }

  #node(offset: number, wantDummy = false): Node {
    const cached = this.#cache.get(offset);
    if (cached) return cached;
    if (offset % 4 !== 0 || offset < SKIPLIST_HEADER_SIZE || offset + 16 > this.#size) this.#bad('bad node offset', offset);
    const head = this.#read(offset, Math.min(FIRST_READ, this.#size - offset));
    const type = head.readUInt32BE(0);
    if (wantDummy ? type !== DUMMY : type !== INORDER && type !== ADD) this.#bad(`unexpected node type ${type}`, offset);
    const keyLen = head.readUInt32BE(4);
    const dataLenAt = offset + 8 + roundup4(keyLen);
    if (dataLenAt + 4 > this.#size) this.#bad('key past end', offset);
    const key = keyLen + 8 <= head.length ? Buffer.from(head.subarray(8, 8 + keyLen)) : this.#read(offset + 8, keyLen);
    const valueLen = this.#word(head, offset, dataLenAt);
    const firstPtr = dataLenAt + 4 + roundup4(valueLen);
    if (firstPtr + 8 > this.#size) this.#bad('data past end', offset);
    const ptrs = firstPtr - offset + 4 * 33 <= head.length ? head.subarray(firstPtr - offset) : this.#read(firstPtr, Math.min(4 * 33, this.#size - firstPtr));
    const next: number[] = [];
    for (let p = 0; ; p += 4) {
      if (p + 4 > ptrs.length) this.#bad('unterminated pointer list', offset);
      const w = ptrs.readUInt32BE(p);
      if (w === PAD && p > 0) break;
      next.push(w);
    }
    const node = { offset, key, valueOffset: dataLenAt + 4, valueLen, next };
    this.#cache.set(offset, node);
    return node;
  }

  /** First node whose key is >= `key`. */
  #seek(key: Buffer): Node | null {
    let node = this.#node(SKIPLIST_HEADER_SIZE, true);
    for (let level = node.next.length - 1; level >= 0; level--) {
      for (let guard = 0; ; guard++) {
        if (guard > this.#size / 16) this.#bad('pointer loop', node.offset);
        const off = node.next[level] ?? 0;
        if (off === 0) break;
        const cand = this.#node(off);
        if (Buffer.compare(cand.key, key) >= 0) break;
        node = cand;
      }
    }
    const off = node.next[0] ?? 0;
    return off === 0 ? null : this.#node(off);
  }

  #entry(n: Node): Entry {
    return { key: n.key, value: this.#read(n.valueOffset, n.valueLen) };
  }

  get(key: Buffer): Buffer | undefined {
    const n = this.#seek(key);
    return n && n.key.equals(key) ? this.#entry(n).value : undefined;
  }

  /** Records whose key starts with `prefix`, in key order. */
  *scan(prefix: Buffer): IterableIterator<Entry> {
    let budget = Math.floor(this.#size / 16) + 1;
    for (let n = this.#seek(prefix); n; ) {
      if (--budget < 0) this.#bad('pointer loop', n.offset);
      if (n.key.length < prefix.length || n.key.compare(prefix, 0, prefix.length, 0, prefix.length) !== 0) return;
      yield this.#entry(n);
      const off = n.next[0] ?? 0;
      n = off === 0 ? null : this.#node(off);
    }
  }
}
