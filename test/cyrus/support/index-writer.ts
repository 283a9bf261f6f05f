/**
 * Builds cyrus.index images for tests and benchmarks, laid out from the
 * disk-format tables (mailbox_index_header_to_buf / _record_to_buf offsets)
 * independently of the decoder, for minor versions 6–19 (v19: the 3.10
 * header of imap/mailbox.h's OFFSET_* table; v18: the v17 one plus the two
 * quota fields at 140/148).
 */
import { crc32 } from 'node:zlib';

export interface HeaderFields {
  generationNo?: number;
  lastAppenddate?: number;
  lastUid?: number;
  quotaMailboxUsed?: bigint;
  pop3LastLogin?: number;
  uidvalidity?: number;
  deleted?: number;
  answered?: number;
  flagged?: number;
  options?: number;
  leakedCacheRecords?: number;
  highestmodseq?: bigint;
  deletedmodseq?: bigint;
  exists?: number;
  firstExpunged?: number;
  lastRepackTime?: number;
  headerFileCrc?: number;
  syncCrcBasic?: number;
  recentuid?: number;
  recenttime?: number;
  pop3ShowAfter?: number;
  quotaAnnotUsed?: number;
  syncCrcAnnot?: number;
  unseen?: number;
  createdmodseq?: bigint;
  changesEpoch?: number;
  quotaDeletedUsed?: bigint;
  quotaExpungedUsed?: bigint;
}

export interface RecordFields {
  uid: number;
  internaldate?: number;
  sentdate?: number;
  size?: number;
  headerSize?: number;
  gmtime?: number;
  cacheOffset?: number;
  lastUpdated?: number;
  systemFlags?: number;
  internalFlags?: number;
  userFlags?: [number, number, number, number];
  savedate?: number;
  cacheVersion?: number;
  guid?: string;
  modseq?: bigint;
  cid?: bigint;
  createdmodseq?: bigint;
  cacheCrc?: number;
}

const HEADER_LEN: Record<number, number> = { 6: 76, 7: 76, 8: 92, 9: 96, 10: 96, 12: 128, 13: 128, 14: 160, 15: 160, 16: 160, 17: 160, 18: 160, 19: 160 };
const RECORD_LEN: Record<number, number> = { 6: 60, 7: 72, 8: 80, 9: 80, 10: 88, 12: 96, 13: 104, 14: 104, 15: 104, 16: 112, 17: 112, 18: 112, 19: 112 };

export function encodeHeader(v: number, h: HeaderFields, numRecords: number, recordSize = RECORD_LEN[v] ?? 0): Buffer {
  const len = HEADER_LEN[v];
  if (len === undefined) throw new Error(`no v${v}`);
  const b = Buffer.alloc(len);
  b.writeUInt32BE(h.generationNo ?? 0, 0);
  b.writeUInt32BE(v, 8);
  b.writeUInt32BE(len, 12);
  b.writeUInt32BE(recordSize, 16);
  b.writeUInt32BE(numRecords, 20);
  b.writeUInt32BE(h.lastAppenddate ?? 0, 24);
  b.writeUInt32BE(h.lastUid ?? 0, 28);
  b.writeBigUInt64BE(h.quotaMailboxUsed ?? 0n, 32);
  b.writeUInt32BE(h.pop3LastLogin ?? 0, 40);
  b.writeUInt32BE(h.uidvalidity ?? 0, 44);
  b.writeUInt32BE(h.deleted ?? 0, 48);
  b.writeUInt32BE(h.answered ?? 0, 52);
  b.writeUInt32BE(h.flagged ?? 0, 56);
  if (v >= 19) return v19Header(b, h);
  b.writeUInt32BE(h.options ?? 0, 60);
  b.writeUInt32BE(h.leakedCacheRecords ?? 0, 64);
  if (v >= 8) b.writeBigUInt64BE(h.highestmodseq ?? 0n, 68);
  if (v >= 12) {
    b.writeBigUInt64BE(h.deletedmodseq ?? 0n, 76);
    b.writeUInt32BE(h.exists ?? 0, 84);
    b.writeUInt32BE(h.firstExpunged ?? 0, 88);
    b.writeUInt32BE(h.lastRepackTime ?? 0, 92);
    b.writeUInt32BE(h.headerFileCrc ?? 0, 96);
    b.writeUInt32BE(h.syncCrcBasic ?? 0, 100);
    b.writeUInt32BE(h.recentuid ?? 0, 104);
    b.writeUInt32BE(h.recenttime ?? 0, 108);
  }
  if (v >= 13) {
    b.writeUInt32BE(h.pop3ShowAfter ?? 0, 112);
    b.writeUInt32BE(h.quotaAnnotUsed ?? 0, 116);
    b.writeUInt32BE(h.syncCrcAnnot ?? 0, 120);
  }
  if (v >= 14) b.writeUInt32BE(h.unseen ?? 0, 124);
  if (v >= 16) b.writeBigUInt64BE(h.createdmodseq ?? 0n, 128);
  if (v >= 17) b.writeUInt32BE(h.changesEpoch ?? 0, 136);
  if (v >= 18) {
    b.writeBigUInt64BE(h.quotaDeletedUsed ?? 0n, 140);
    b.writeBigUInt64BE(h.quotaExpungedUsed ?? 0n, 148);
  }
  if (v >= 12) b.writeUInt32BE(crc32(b.subarray(0, len - 4)), len - 4);
  return b;
}

/** The rest of a v19 header: exists@60, options@64, leaked@68, modseqs@72/80, … quota@136/144, epoch@152, crc@156. */
function v19Header(b: Buffer, h: HeaderFields): Buffer {
  b.writeUInt32BE(h.exists ?? 0, 60);
  b.writeUInt32BE(h.options ?? 0, 64);
  b.writeUInt32BE(h.leakedCacheRecords ?? 0, 68);
  b.writeBigUInt64BE(h.highestmodseq ?? 0n, 72);
  b.writeBigUInt64BE(h.deletedmodseq ?? 0n, 80);
  b.writeUInt32BE(h.firstExpunged ?? 0, 88);
  b.writeUInt32BE(h.lastRepackTime ?? 0, 92);
  b.writeUInt32BE(h.headerFileCrc ?? 0, 96);
  b.writeUInt32BE(h.syncCrcBasic ?? 0, 100);
  b.writeUInt32BE(h.recentuid ?? 0, 104);
  b.writeUInt32BE(h.recenttime ?? 0, 108);
  b.writeUInt32BE(h.pop3ShowAfter ?? 0, 112);
  b.writeUInt32BE(h.quotaAnnotUsed ?? 0, 116);
  b.writeUInt32BE(h.syncCrcAnnot ?? 0, 120);
  b.writeUInt32BE(h.unseen ?? 0, 124);
  b.writeBigUInt64BE(h.createdmodseq ?? 0n, 128);
  b.writeBigUInt64BE(h.quotaDeletedUsed ?? 0n, 136);
  b.writeBigUInt64BE(h.quotaExpungedUsed ?? 0n, 144);
  b.writeUInt32BE(h.changesEpoch ?? 0, 152);
  b.writeUInt32BE(crc32(b.subarray(0, 156)), 156);
  return b;
}

export function encodeRecord(v: number, r: RecordFields, recordSize = RECORD_LEN[v] ?? 0): Buffer {
  const b = Buffer.alloc(recordSize);
  const cacheOffset = r.cacheOffset ?? 0;
  b.writeUInt32BE(r.uid, 0);
  b.writeUInt32BE(r.internaldate ?? 0, 4);
  b.writeUInt32BE(r.sentdate ?? 0, 8);
  b.writeUInt32BE(r.size ?? 0, 12);
  b.writeUInt32BE(r.headerSize ?? 0, 16);
  b.writeUInt32BE(r.gmtime ?? 0, 20);
  b.writeUInt32BE(cacheOffset % 2 ** 32, 24);
  b.writeUInt32BE(r.lastUpdated ?? 0, 28);
  b.writeUInt32BE(((r.systemFlags ?? 0) | (r.internalFlags ?? 0)) >>> 0, 32);
  (r.userFlags ?? [0, 0, 0, 0]).forEach((w, i) => b.writeUInt32BE(w >>> 0, 36 + 4 * i));
  if (v >= 15) b.writeUInt32BE(r.savedate ?? 0, 52);
  b.writeUInt32BE(((Math.floor(cacheOffset / 2 ** 32) << 16) | (r.cacheVersion ?? 0)) >>> 0, 56);
  if (v >= 8 && v < 10) b.writeBigUInt64BE(r.modseq ?? 0n, 72);
  if (v >= 10) {
    Buffer.from(r.guid ?? '', 'hex').copy(b, 60);
    b.writeBigUInt64BE(r.modseq ?? 0n, 80);
  }
  if (v === 12) {
    b.writeUInt32BE(r.cacheCrc ?? 0, 88);
    b.writeUInt32BE(crc32(b.subarray(0, 92)), 92);
  } else if (v >= 13 && v < 16) {
    b.writeBigUInt64BE(r.cid ?? 0n, 88);
    b.writeUInt32BE(r.cacheCrc ?? 0, 96);
    b.writeUInt32BE(crc32(b.subarray(0, 100)), 100);
  } else if (v >= 16) {
    b.writeBigUInt64BE(r.cid ?? 0n, 88);
    b.writeBigUInt64BE(r.createdmodseq ?? 0n, 96);
    b.writeUInt32BE(r.cacheCrc ?? 0, 104);
    b.writeUInt32BE(crc32(b.subarray(0, 108)), 108);
  }
  return b;
}

export function encodeIndex(v: number, h: HeaderFields, records: readonly RecordFields[]): Buffer {
  return Buffer.concat([encodeHeader(v, h, records.length), ...records.map((r) => encodeRecord(v, r))]);
}
