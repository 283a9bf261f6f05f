/**
 * skiplist decoder (lib/cyrusdb_skiplist.c): old mailboxes.db/seen files and
 * the conversations DB. Pure: walks the level-0 forward pointers from the
 * DUMMY at offset 48; that chain holds exactly the live INORDER/ADD records
 * (DELETE and COMMIT entries only exist in the log and are never linked).
 * There are no CRCs; a file whose log does not end in a complete commit
 * (Cyrus' SAFE_TO_APPEND test) was left by a crashed writer: DbBusyError.
 */
import { SKIPLIST_MAGIC } from './detect.js';
import { CyrusDbError, DbBusyError, roundUp, type Entry } from './types.js';

export const SKIPLIST_HEADER_SIZE = 48;
export const SKIPLIST_NODE = { INORDER: 1, ADD: 2, DELETE: 4, COMMIT: 255, DUMMY: 257, PAD: 0xffffffff } as const;
const { INORDER, ADD, DELETE, COMMIT, DUMMY, PAD } = SKIPLIST_NODE;

export interface SkiplistHeader {
  readonly version: number;
  readonly versionMinor: number;
  readonly maxLevel: number;
  readonly curLevel: number;
  readonly listSize: number;
  readonly logStart: number;
  readonly lastRecovery: number;
}

const roundup4 = (n: number): number => roundUp(n, 4);

export function decodeSkiplistHeader(buf: Buffer, path = ''): SkiplistHeader {
  if (buf.length < SKIPLIST_HEADER_SIZE || !buf.subarray(0, 20).equals(SKIPLIST_MAGIC)) {
    throw new CyrusDbError('skiplist: invalid magic header', path);
  }
  return {
    version: buf.readUInt32BE(20),
    versionMinor: buf.readUInt32BE(24),
    maxLevel: buf.readUInt32BE(28),
    curLevel: buf.readUInt32BE(32),
    listSize: buf.readUInt32BE(36),
    logStart: buf.readUInt32BE(40),
    lastRecovery: buf.readUInt32BE(44),
  };
}

/** Cyrus' SAFE_TO_APPEND: the file must end at a record boundary after a commit. `last12` = its last 12 bytes. */
export function skiplistEndsCleanly(size: number, logStart: number, last12: Buffer): boolean {
  if (size % 4 !== 0 || size < SKIPLIST_HEADER_SIZE + 12 || last12.length !== 12) return false;
  if (size === logStart) return last12.readUInt32BE(8) === PAD;
  if (last12.readUInt32BE(8) !== COMMIT) return false;
  return last12.readUInt32BE(4) === PAD || last12.readUInt32BE(0) === DELETE;
}

function endsCleanly(buf: Buffer, logStart: number): boolean {
  return skiplistEndsCleanly(buf.length, logStart, buf.subarray(Math.max(0, buf.length - 12)));
}

export function decodeSkiplist(buf: Buffer, path = ''): { header: SkiplistHeader; records: Entry[] } {
  const header = decodeSkiplistHeader(buf, path);
  if (header.version !== 1) throw new CyrusDbError(`skiplist: unsupported version ${header.version}`, path);
  if (!endsCleanly(buf, header.logStart)) throw new DbBusyError('skiplist: log does not end in a commit (crashed writer)', path);

  const bad = (what: string, at: number): never => {
    throw new CyrusDbError(`skiplist: ${what} at offset 0x${at.toString(16)}`, path);
  };
  /** Parses a node; returns its level-0 forward pointer. */
  const node = (off: number, want: (t: number) => boolean): { next: number; key: Buffer; value: Buffer } => {
    if (off % 4 !== 0 || off + 16 > buf.length) bad('bad node offset', off);
    const type = buf.readUInt32BE(off);
    if (!want(type)) bad(`unexpected node type ${type}`, off);
    const keyLen = buf.readUInt32BE(off + 4);
    const dataLenAt = off + 8 + roundup4(keyLen);
    if (dataLenAt + 4 > buf.length) bad('key past end', off);
    const dataLen = buf.readUInt32BE(dataLenAt);
    const firstPtr = dataLenAt + 4 + roundup4(dataLen);
    if (firstPtr + 8 > buf.length) bad('data past end', off);
    // A node has at least one pointer, and its pointer list ends with the PAD word.
    let p = firstPtr + 4;
    while (p + 4 <= buf.length && buf.readUInt32BE(p) !== PAD) p += 4;
    if (p + 4 > buf.length) bad('unterminated pointer list', off);
    return {
      next: buf.readUInt32BE(firstPtr),
      key: buf.subarray(off + 8, off + 8 + keyLen),
      value: buf.subarray(dataLenAt + 4, dataLenAt + 4 + dataLen),
    };
  };

  const records: Entry[] = [];
  let budget = Math.floor(buf.length / 16) + 1;
  let off = node(SKIPLIST_HEADER_SIZE, (t) => t === DUMMY).next;
  while (off !== 0) {
    if (--budget < 0) bad('pointer loop', off);
    const n = node(off, (t) => t === INORDER || t === ADD);
    records.push({ key: n.key, value: n.value });
    off = n.next;
  }
  return { header, records };
}
