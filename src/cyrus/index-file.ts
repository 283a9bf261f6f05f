/**
 * cyrus.index decoding (imap/mailbox.c mailbox_buf_to_index_header /
 * mailbox_buf_to_index_record @3.6.1 and @3.10.1): the header and the fixed-
 * size records, for every minor version 3.10.1 reads (6–10, 12–19; 3.6/3.8
 * write 17, 3.10/3.12 write 19, 18 only existed in 3.9 development builds),
 * dispatched per file through per-version layout tables: after an upgrade v17
 * and v19 files coexist in one spool. v19 moved exists, options, leaked-cache,
 * the modseqs and changes_epoch so 64-bit fields sit on 8-byte boundaries and
 * added quota_deleted_used / quota_expunged_used (v18 had them at 140/148);
 * the 112-byte record is unchanged from v16 to v19. Header and record CRC32s
 * are verified where the version has them (≥12). Pure: Buffer in.
 *
 * 64-bit fields (modseqs, cid, quota used) are bigint; times are the on-disk
 * 32-bit seconds. Header fields get Cyrus' read-time defaults (see below).
 */
import { crc32 } from 'node:zlib';
import { SyncmuxError } from '../errors.js';
import { CyrusFileError, decodingFile } from './file-error.js';

/** System flags (low 16 bits of the flags word). */
export const FLAG = {
  ANSWERED: 1 << 0,
  FLAGGED: 1 << 1,
  DELETED: 1 << 2,
  DRAFT: 1 << 3,
  SEEN: 1 << 4,
} as const;

/** Internal flags (high 16 bits of the flags word). */
export const IFLAG = {
  SNOOZED: 1 << 26,
  SPLITCONVERSATION: 1 << 27,
  NEEDS_CLEANUP: 1 << 28,
  ARCHIVED: 1 << 29,
  UNLINKED: 1 << 30,
  EXPUNGED: 2 ** 31,
} as const;

/** Mailbox option bits (index header `options`). */
export const OPT = {
  POP3_NEW_UIDL: 1 << 0,
  IMAP_CONDSTORE: 1 << 1,
  IMAP_SHAREDSEEN: 1 << 2,
  IMAP_DUPDELIVER: 1 << 3,
  IMAP_HAS_ALARMS: 1 << 4,
  MAILBOX_NEEDS_UNLINK: 1 << 29,
  MAILBOX_NEEDS_REPACK: 1 << 30,
  MAILBOX_DELETED: 2 ** 31,
} as const;

export interface IndexHeader {
  readonly generationNo: number;
  readonly format: number;
  readonly minorVersion: number;
  /** Length of this version's header, where record 1 would start if start_offset agreed. */
  readonly headerLength: number;
  readonly startOffset: number;
  readonly recordSize: number;
  readonly numRecords: number;
  readonly lastAppenddate: number;
  readonly lastUid: number;
  readonly quotaMailboxUsed: bigint;
  readonly pop3LastLogin: number;
  readonly uidvalidity: number;
  readonly deleted: number;
  readonly answered: number;
  readonly flagged: number;
  /** As Cyrus holds it in memory: stored bits, plus POP3_NEW_UIDL when exists is 0. */
  readonly options: number;
  /** The bits exactly as stored. */
  readonly storedOptions: number;
  readonly leakedCacheRecords: number;
  /** Stored value, 1 when stored 0 (Cyrus' default). */
  readonly highestmodseq: bigint;
  /** v<12: equals highestmodseq. */
  readonly deletedmodseq: bigint;
  /** v<12: equals numRecords. */
  readonly exists: number;
  readonly firstExpunged: number;
  readonly lastRepackTime: number;
  readonly headerFileCrc: number;
  readonly syncCrcBasic: number;
  readonly recentuid: number;
  readonly recenttime: number;
  readonly pop3ShowAfter: number;
  readonly quotaAnnotUsed: number;
  readonly syncCrcAnnot: number;
  readonly unseen: number;
  readonly createdmodseq: bigint;
  /** v<17: last_repack_time, or 0 where Cyrus would use "now". */
  readonly changesEpoch: number;
  /** Bytes of \Deleted messages, v≥18, else 0n. */
  readonly quotaDeletedUsed: bigint;
  /** Bytes of expunged messages still on disk, v≥18, else 0n. */
  readonly quotaExpungedUsed: bigint;
}

export interface IndexRecord {
  /** 1-based position in the file. */
  readonly recno: number;
  readonly uid: number;
  readonly internaldate: number;
  readonly sentdate: number;
  readonly size: number;
  readonly headerSize: number;
  readonly gmtime: number;
  readonly cacheOffset: number;
  readonly lastUpdated: number;
  /** Low 16 bits of the flags word (FLAG.*). */
  readonly systemFlags: number;
  /** High 16 bits of the flags word (IFLAG.*), as an unsigned number. */
  readonly internalFlags: number;
  /** Four 32-bit words: user flag k is bit k%32 of word k/32. */
  readonly userFlags: readonly [number, number, number, number];
  /** v≥15, else 0. */
  readonly savedate: number;
  readonly cacheVersion: number;
  /** 40 lowercase hex chars (SHA-1 of the message file); v<10 all zeros. */
  readonly guid: string;
  readonly modseq: bigint;
  /** Conversation id ("thrid"), v≥13, else 0n. */
  readonly cid: bigint;
  /** v≥16, else 0n. */
  readonly createdmodseq: bigint;
  readonly cacheCrc: number;
}

export class IndexFormatError extends CyrusFileError {
  override readonly code: string = 'SYNCMUX_CYRUS_INDEX';
}

/** A header or record whose stored CRC32 does not match (Cyrus: IMAP_MAILBOX_CHECKSUM). */
export class IndexChecksumError extends IndexFormatError {
  override name = 'IndexChecksumError';
  constructor(
    message: string,
    readonly recno: number | null,
    path = '',
  ) {
    super(message, path);
  }
}

/** Header length by minor version (3.10.1 rejects anything else, e.g. 11 or ≥20). */
const HEADER_LENGTH: Readonly<Record<number, number>> = { 6: 76, 7: 76, 8: 92, 9: 96, 10: 96, 12: 128, 13: 128, 14: 160, 15: 160, 16: 160, 17: 160, 18: 160, 19: 160 };

/** Bytes of one record each version defines (the stored record_size may be larger). */
const RECORD_LENGTH: Readonly<Record<number, number>> = { 6: 60, 7: 72, 8: 80, 9: 80, 10: 88, 12: 96, 13: 104, 14: 104, 15: 104, 16: 112, 17: 112, 18: 112, 19: 112 };

export const SUPPORTED_MINOR_VERSIONS: readonly number[] = Object.keys(HEADER_LENGTH).map(Number);

/** Enough bytes for the header of any supported version. */
export const MAX_HEADER_LENGTH = Math.max(...Object.values(HEADER_LENGTH));

/**
 * Offsets of the header fields that moved in v19 (null = absent in that
 * version). The fields before `options` and from first_expunged to
 * createdmodseq (88–135) kept their places; the CRC is always the last 4 bytes.
 */
interface HeaderLayout {
  readonly options: number;
  readonly leaked: number;
  readonly highestmodseq: number | null;
  readonly deletedmodseq: number | null;
  readonly exists: number | null;
  readonly changesEpoch: number | null;
  readonly quotaDeletedUsed: number | null;
  readonly quotaExpungedUsed: number | null;
}

function headerLayout(v: number): HeaderLayout {
  if (v >= 19) return { options: 64, leaked: 68, highestmodseq: 72, deletedmodseq: 80, exists: 60, changesEpoch: 152, quotaDeletedUsed: 136, quotaExpungedUsed: 144 };
  return {
    options: 60,
    leaked: 64,
    highestmodseq: v >= 8 ? 68 : null,
    deletedmodseq: v >= 12 ? 76 : null,
    exists: v >= 12 ? 84 : null,
    changesEpoch: v >= 17 ? 136 : null,
    quotaDeletedUsed: v >= 18 ? 140 : null,
    quotaExpungedUsed: v >= 18 ? 148 : null,
  };
}

export function decodeIndexHeader(buf: Buffer): IndexHeader {
  if (buf.length < 12) throw new IndexFormatError('cyrus.index: too short for a header');
  const u32 = (o: number): number => buf.readUInt32BE(o);
  const u64 = (o: number): bigint => buf.readBigUInt64BE(o);
  const v = u32(8);
  const headerLength = HEADER_LENGTH[v];
  if (headerLength === undefined) throw new IndexFormatError(`cyrus.index: unsupported minor version ${v}`);
  if (buf.length < headerLength) throw new IndexFormatError(`cyrus.index: header of v${v} needs ${headerLength} bytes`);
  if (v >= 12 && crc32(buf.subarray(0, headerLength - 4)) !== u32(headerLength - 4)) {
    throw new IndexChecksumError('cyrus.index: header CRC mismatch', null);
  }
  const L = headerLayout(v);
  const at64 = (o: number | null): bigint => (o === null ? 0n : u64(o));
  const numRecords = u32(20);
  const storedOptions = u32(L.options);
  const stored32 = (o: number, since: number): number => (v >= since ? u32(o) : 0);
  const rawHighest = at64(L.highestmodseq);
  const highestmodseq = rawHighest === 0n ? 1n : rawHighest;
  const exists = L.exists === null ? numRecords : u32(L.exists);
  const lastRepackTime = stored32(92, 12);
  return Object.freeze({
    generationNo: u32(0),
    format: u32(4),
    minorVersion: v,
    headerLength,
    startOffset: u32(12),
    recordSize: u32(16),
    numRecords,
    lastAppenddate: u32(24),
    lastUid: u32(28),
    quotaMailboxUsed: u64(32),
    pop3LastLogin: u32(40),
    uidvalidity: u32(44),
    deleted: u32(48),
    answered: u32(52),
    flagged: u32(56),
    // Cyrus ORs this in whenever the stored exists is 0 (for v<12, exists is still 0 at that point).
    options: ((L.exists === null ? 0 : exists) === 0 ? storedOptions | OPT.POP3_NEW_UIDL : storedOptions) >>> 0,
    storedOptions,
    leakedCacheRecords: u32(L.leaked),
    highestmodseq,
    deletedmodseq: L.deletedmodseq === null ? highestmodseq : u64(L.deletedmodseq),
    exists,
    firstExpunged: stored32(88, 12),
    lastRepackTime,
    headerFileCrc: stored32(96, 12),
    syncCrcBasic: stored32(100, 12),
    recentuid: stored32(104, 12),
    recenttime: stored32(108, 12),
    pop3ShowAfter: stored32(112, 13),
    quotaAnnotUsed: stored32(116, 13),
    syncCrcAnnot: stored32(120, 13),
    unseen: stored32(124, 14),
    createdmodseq: v >= 16 ? u64(128) : 0n,
    changesEpoch: L.changesEpoch === null ? lastRepackTime : u32(L.changesEpoch),
    quotaDeletedUsed: at64(L.quotaDeletedUsed),
    quotaExpungedUsed: at64(L.quotaExpungedUsed),
  });
}

/** Per-version placement of the fields that moved; null = absent in that version. */
interface RecordLayout {
  readonly length: number;
  readonly guid: number | null;
  readonly modseq: number | null;
  readonly cid: number | null;
  readonly savedate: number | null;
  readonly createdmodseq: number | null;
  readonly cacheCrc: number | null;
  /** CRC over bytes [0, crc). */
  readonly crc: number | null;
}

function recordLayout(v: number): RecordLayout {
  const length = RECORD_LENGTH[v];
  if (length === undefined) throw new IndexFormatError(`cyrus.index: unsupported minor version ${v}`);
  if (v < 8) return { length, guid: null, modseq: null, cid: null, savedate: null, createdmodseq: null, cacheCrc: null, crc: null };
  if (v < 10) return { length, guid: null, modseq: 72, cid: null, savedate: null, createdmodseq: null, cacheCrc: null, crc: null };
  if (v < 12) return { length, guid: 60, modseq: 80, cid: null, savedate: null, createdmodseq: null, cacheCrc: null, crc: null };
  if (v < 13) return { length, guid: 60, modseq: 80, cid: null, savedate: null, createdmodseq: null, cacheCrc: 88, crc: 92 };
  if (v < 16) return { length, guid: 60, modseq: 80, cid: 88, savedate: v >= 15 ? 52 : null, createdmodseq: null, cacheCrc: 96, crc: 100 };
  return { length, guid: 60, modseq: 80, cid: 88, savedate: 52, createdmodseq: 96, cacheCrc: 104, crc: 108 };
}

const NULL_GUID = '0'.repeat(40);

/** Record decoder for one minor version: (file image, byte offset, recno). */
export type RecordDecoder = (buf: Buffer, offset: number, recno: number) => IndexRecord;

export function recordDecoder(minorVersion: number): RecordDecoder {
  const L = recordLayout(minorVersion);
  return (buf, o, recno) => {
    if (L.crc !== null && crc32(buf.subarray(o, o + L.crc)) !== buf.readUInt32BE(o + L.crc)) {
      throw new IndexChecksumError(`cyrus.index: record ${recno} CRC mismatch`, recno);
    }
    const flags = buf.readUInt32BE(o + 32);
    const cacheVersionWord = buf.readUInt32BE(o + 56);
    return {
      recno,
      uid: buf.readUInt32BE(o),
      internaldate: buf.readUInt32BE(o + 4),
      sentdate: buf.readUInt32BE(o + 8),
      size: buf.readUInt32BE(o + 12),
      headerSize: buf.readUInt32BE(o + 16),
      gmtime: buf.readUInt32BE(o + 20),
      // The high 16 bits of the version word extend the 32-bit cache offset.
      cacheOffset: buf.readUInt32BE(o + 24) + (cacheVersionWord >>> 16) * 2 ** 32,
      lastUpdated: buf.readUInt32BE(o + 28),
      systemFlags: flags & 0xffff,
      internalFlags: (flags & 0xffff0000) >>> 0,
      userFlags: [buf.readUInt32BE(o + 36), buf.readUInt32BE(o + 40), buf.readUInt32BE(o + 44), buf.readUInt32BE(o + 48)],
      savedate: L.savedate === null ? 0 : buf.readUInt32BE(o + L.savedate),
      cacheVersion: cacheVersionWord & 0xffff,
      guid: L.guid === null ? NULL_GUID : buf.toString('hex', o + L.guid, o + L.guid + 20),
      modseq: L.modseq === null ? 0n : buf.readBigUInt64BE(o + L.modseq),
      cid: L.cid === null ? 0n : buf.readBigUInt64BE(o + L.cid),
      createdmodseq: L.createdmodseq === null ? 0n : buf.readBigUInt64BE(o + L.createdmodseq),
      cacheCrc: L.cacheCrc === null ? 0 : buf.readUInt32BE(o + L.cacheCrc),
    };
  };
}

export interface IndexFile {
  readonly header: IndexHeader;
  /** Records 1..num_records in file order, minus uid-0 (damaged) slots, which Cyrus' iterator skips. */
  readonly records: readonly IndexRecord[];
}

/** Decodes header and all records of a cyrus.index image; `path` names the file in errors. */
export function decodeIndex(buf: Buffer, path = ''): IndexFile {
  const image = new IndexImage(buf, path);
  return { header: image.header, records: image.all() };
}

/** The record queries a snapshot answers; IndexImage holds the whole file, IndexSelection the part a pass asked for. */
export interface IndexRecords {
  readonly header: IndexHeader;
  /** Records 1..num_records in file order, minus uid-0 (damaged) slots, which Cyrus' iterator skips. */
  all(): readonly IndexRecord[];
  /** Records with MODSEQ above `modseq`, in file order (none before v8, which has no MODSEQ). */
  modifiedSince(modseq: bigint): IndexRecord[];
  /** Records with UID above `uid`, in file order. */
  uidAbove(uid: number): IndexRecord[];
}

/** What an error escaping an index decoder becomes: the file is damaged. */
const indexError = (message: string, cause: unknown): IndexFormatError => new IndexFormatError(`cyrus.index: ${message}`, '', { cause });

/** The layout checks every reader makes before trusting num_records; `fileSize` null when the caller checks the size itself. */
function checkLayout(header: IndexHeader, fileSize: number | null): void {
  const L = recordLayout(header.minorVersion);
  if (header.recordSize < L.length) throw new IndexFormatError(`cyrus.index: record_size ${header.recordSize} < ${L.length} for v${header.minorVersion}`);
  if (header.startOffset < header.headerLength) throw new IndexFormatError(`cyrus.index: start_offset ${header.startOffset} inside the header`);
  if (fileSize !== null) {
    const need = header.startOffset + header.numRecords * header.recordSize;
    if (fileSize < need) throw new IndexFormatError(`cyrus.index: ${header.numRecords} records need ${need} bytes, file has ${fileSize}`);
  }
}

/**
 * A cyrus.index image whose records are decoded on demand. An APPEND to a
 * 50,000-message INBOX needs one record; decoding all of them cost some
 * 360 ms. The selective reads look at one field of the others (as Cyrus'
 * iterator does with its changed-since test), so only decoded records have
 * their CRC checked.
 */
export class IndexImage implements IndexRecords {
  readonly header: IndexHeader;
  private readonly decode: RecordDecoder;
  private readonly modseqAt: number | null;
  private decoded: readonly IndexRecord[] | null = null;

  /** `path` names the file in errors. */
  constructor(
    private readonly buf: Buffer,
    private readonly path = '',
  ) {
    const header = this.decoding(() => decodeIndexHeader(buf));
    this.decoding(() => checkLayout(header, buf.length));
    this.header = header;
    this.decode = recordDecoder(header.minorVersion);
    this.modseqAt = recordLayout(header.minorVersion).modseq;
  }

  /** Errors of fn typed and named after the file (records are decoded long after the constructor). */
  private decoding<T>(fn: () => T): T {
    return decodingFile(this.path, indexError, fn);
  }

  private offset(recno: number): number {
    return this.header.startOffset + (recno - 1) * this.header.recordSize;
  }

  all(): readonly IndexRecord[] {
    return this.decoding(() => this.decodeAll());
  }

  private decodeAll(): readonly IndexRecord[] {
    if (this.decoded) return this.decoded;
    const records: IndexRecord[] = [];
    for (let recno = 1; recno <= this.header.numRecords; recno++) {
      const r = this.decode(this.buf, this.offset(recno), recno);
      if (r.uid !== 0) records.push(r);
    }
    this.decoded = records;
    return records;
  }

  modifiedSince(modseq: bigint): IndexRecord[] {
    return this.decoding(() => this.decodeModifiedSince(modseq));
  }

  private decodeModifiedSince(modseq: bigint): IndexRecord[] {
    if (this.decoded) return this.decoded.filter((r) => r.modseq > modseq);
    const at = this.modseqAt;
    if (at === null) return [];
    // Compared as two 32-bit halves: no BigInt per record.
    const hi = Number(modseq >> 32n);
    const lo = Number(modseq & 0xffffffffn);
    const out: IndexRecord[] = [];
    for (let recno = 1; recno <= this.header.numRecords; recno++) {
      const o = this.offset(recno);
      const rhi = this.buf.readUInt32BE(o + at);
      if (rhi < hi || (rhi === hi && this.buf.readUInt32BE(o + at + 4) <= lo)) continue;
      if (this.buf.readUInt32BE(o) === 0) continue;
      out.push(this.decode(this.buf, o, recno));
    }
    return out;
  }

  /** Cyrus keeps records in UID order, so this reads from the end. */
  uidAbove(uid: number): IndexRecord[] {
    return this.decoding(() => this.decodeUidAbove(uid));
  }

  private decodeUidAbove(uid: number): IndexRecord[] {
    if (this.decoded) return this.decoded.filter((r) => r.uid > uid);
    let first = this.header.numRecords + 1;
    for (let recno = this.header.numRecords; recno >= 1; recno--) {
      const u = this.buf.readUInt32BE(this.offset(recno));
      if (u !== 0 && u <= uid) break;
      first = recno;
    }
    const out: IndexRecord[] = [];
    for (let recno = first; recno <= this.header.numRecords; recno++) {
      const o = this.offset(recno);
      if (this.buf.readUInt32BE(o) !== 0) out.push(this.decode(this.buf, o, recno));
    }
    return out;
  }
}


/** What a selective read took: records with MODSEQ above `modseq` or UID above `uid`. */
export interface IndexScope {
  readonly modseq: bigint;
  readonly uid: number;
}

/** Asking an IndexSelection for records outside what was read: a caller's mistake, never a file's. */
export class IndexScopeError extends SyncmuxError {
  constructor(what: string, scope: IndexScope) {
    super('SYNCMUX_INDEX_SCOPE', `cyrus.index: ${what} is outside the records read (modseq above ${scope.modseq}, uid above ${scope.uid})`);
  }
}

/**
 * The records of a cyrus.index a steady-state pass asked for, read by the
 * addon (selectIndexRecords) without the rest of the file: `selected` holds
 * [recno u32 BE][record] for each. Queries inside the scope are answered as
 * IndexImage would; outside it they throw IndexScopeError.
 */
export class IndexSelection implements IndexRecords {
  private readonly decoded: readonly IndexRecord[];

  /** `header` as decodeIndexHeader gave it (checkLayout passed); `path` names the file in errors. */
  constructor(
    readonly header: IndexHeader,
    selected: Buffer,
    private readonly scope: IndexScope,
    path = '',
  ) {
    const decode = recordDecoder(header.minorVersion);
    const step = 4 + header.recordSize;
    if (selected.length % step !== 0) throw new RangeError(`index selection of ${selected.length} bytes is not whole records of ${step}`);
    this.decoded = decodingFile(path, indexError, () => {
      const out: IndexRecord[] = [];
      for (let o = 0; o < selected.length; o += step) out.push(decode(selected, o + 4, selected.readUInt32BE(o)));
      return out;
    });
  }

  all(): readonly IndexRecord[] {
    throw new IndexScopeError('every record', this.scope);
  }

  modifiedSince(modseq: bigint): IndexRecord[] {
    if (modseq < this.scope.modseq) throw new IndexScopeError(`modseq above ${modseq}`, this.scope);
    return this.decoded.filter((r) => r.modseq > modseq);
  }

  uidAbove(uid: number): IndexRecord[] {
    if (uid < this.scope.uid) throw new IndexScopeError(`uid above ${uid}`, this.scope);
    return this.decoded.filter((r) => r.uid > uid);
  }
}

/** Decodes the header of a selective read and checks its layout (the addon checks the file's size). */
export function selectionHeader(head: Buffer, path = ''): IndexHeader {
  return decodingFile(path, indexError, () => {
    const header = decodeIndexHeader(head);
    checkLayout(header, null);
    return header;
  });
}

/** Where MODSEQ sits in a record of this version, null before v8. */
export const recordModseqOffset = (minorVersion: number): number | null => recordLayout(minorVersion).modseq;

/** Whether user flag `slot` (0–127) is set on the record. */
export function hasUserFlag(r: Pick<IndexRecord, 'userFlags'>, slot: number): boolean {
  return (((r.userFlags[slot >>> 5] ?? 0) >>> (slot & 31)) & 1) === 1;
}

export const isExpunged = (r: Pick<IndexRecord, 'internalFlags'>): boolean => (r.internalFlags & IFLAG.EXPUNGED) !== 0;
export const isUnlinked = (r: Pick<IndexRecord, 'internalFlags'>): boolean => (r.internalFlags & IFLAG.UNLINKED) !== 0;
export const isArchived = (r: Pick<IndexRecord, 'internalFlags'>): boolean => (r.internalFlags & IFLAG.ARCHIVED) !== 0;
