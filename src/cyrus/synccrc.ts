/**
 * SYNC_CRC and SYNC_CRC_ANNOT recomputed from index records exactly as
 * imap/mailbox.c @3.6.1 does (crc_basic, crc_annot, crc_virtannot,
 * mailbox_synccrcs with force): XOR-sums over non-expunged records, basic
 * starting at 0 and annot at 12345678. Cyrus would store a recomputed value;
 * a read-only client only computes it.
 */
import { crc32 } from 'node:zlib';
import { IMAP_ANNOT_NS } from './annotations.js';
import { FLAG, hasUserFlag, isExpunged, type IndexRecord } from './index-file.js';

export const CRC_INIT_BASIC = 0;
export const CRC_INIT_ANNOT = 12345678;

/** A stored per-message annotation as the CRC sees it (tombstones already dropped). */
export interface CrcAnnotation {
  readonly entry: string;
  /** '' = shared; null (owner row of a non-user mailbox) contributes nothing. */
  readonly userid: string | null;
  readonly value: Buffer;
}

type CrcRecord = Pick<IndexRecord, 'uid' | 'modseq' | 'lastUpdated' | 'systemFlags' | 'internalFlags' | 'userFlags' | 'internaldate' | 'guid' | 'cid' | 'savedate' | 'createdmodseq'>;

const asciiLower = (s: string): string => s.replace(/[A-Z]+/g, (m) => m.toLowerCase());

// Fixed names in Cyrus' order; XOR makes the order irrelevant anyway.
const SYSTEM_FLAG_CRCS: ReadonlyArray<readonly [number, number]> = [
  [FLAG.DELETED, crc32('\\deleted')],
  [FLAG.ANSWERED, crc32('\\answered')],
  [FLAG.FLAGGED, crc32('\\flagged')],
  [FLAG.DRAFT, crc32('\\draft')],
  [FLAG.SEEN, crc32('\\seen')],
];

/** crc_basic for one record; `flagNames` are the header's user-flag slots. */
export function crcBasic(r: CrcRecord, flagNames: ReadonlyArray<string | null>): number {
  if (isExpunged(r)) return 0;
  let flagcrc = 0;
  for (const [bit, c] of SYSTEM_FLAG_CRCS) if (r.systemFlags & bit) flagcrc ^= c;
  for (let slot = 0; slot < flagNames.length && slot < 128; slot++) {
    const name = flagNames[slot];
    if (name && hasUserFlag(r, slot)) flagcrc ^= crc32(asciiLower(name));
  }
  return crc32(`${r.uid} ${r.modseq} ${r.lastUpdated} (${flagcrc >>> 0}) ${r.internaldate} ${r.guid}`);
}

/** crc_annot: crc32 of `"<uid> <entry> <userid> " + value`. */
export function crcAnnot(uid: number, entry: string, userid: string | null, value: Buffer): number {
  if (userid === null) return 0;
  return crc32(value, crc32(`${uid} ${entry} ${userid} `));
}

/** mailbox_is_virtannot: entries derived from the record, by index version. */
export function isVirtualAnnotation(entry: string, minorVersion: number): boolean {
  if (minorVersion < 13) return false;
  if (entry === `${IMAP_ANNOT_NS}thrid`) return true;
  if (minorVersion < 15) return false;
  if (entry === `${IMAP_ANNOT_NS}savedate`) return true;
  if (minorVersion < 16) return false;
  return entry === `${IMAP_ANNOT_NS}createdmodseq`;
}

/** crc_virtannot: thrid (bare %llx), savedate, createdmodseq as shared annotations. */
export function crcVirtAnnot(r: CrcRecord, minorVersion: number): number {
  if (isExpunged(r)) return 0;
  let crc = 0;
  const one = (name: string, value: string): void => {
    crc ^= crcAnnot(r.uid, IMAP_ANNOT_NS + name, '', Buffer.from(value, 'latin1'));
  };
  if (r.cid !== 0n && minorVersion >= 13) one('thrid', r.cid.toString(16));
  if (r.savedate !== 0 && minorVersion >= 15) one('savedate', String(r.savedate));
  if (r.createdmodseq !== 0n && minorVersion >= 16) one('createdmodseq', r.createdmodseq.toString());
  return crc >>> 0;
}

export interface SyncCrcs {
  readonly basic: number;
  readonly annot: number;
}

/**
 * mailbox_synccrcs(force=1). `annotationsOf(uid)` yields the record's stored
 * message annotations (non-tombstone, owner token translated).
 */
export function computeSyncCrcs(
  records: Iterable<CrcRecord>,
  flagNames: ReadonlyArray<string | null>,
  minorVersion: number,
  annotationsOf: (uid: number) => Iterable<CrcAnnotation> = () => [],
): SyncCrcs {
  let basic = CRC_INIT_BASIC;
  let annot = CRC_INIT_ANNOT;
  for (const r of records) {
    if (r.uid === 0 || isExpunged(r)) continue;
    basic ^= crcBasic(r, flagNames);
    annot ^= crcVirtAnnot(r, minorVersion);
    for (const a of annotationsOf(r.uid)) {
      if (!isVirtualAnnotation(a.entry, minorVersion)) annot ^= crcAnnot(r.uid, a.entry, a.userid, a.value);
    }
  }
  return { basic: basic >>> 0, annot: annot >>> 0 };
}

/** mailbox_crceq: a zero on either side means "don't compare". */
export function syncCrcsEqual(a: SyncCrcs, b: SyncCrcs): boolean {
  if (a.basic && b.basic && a.basic !== b.basic) return false;
  if (a.annot && b.annot && a.annot !== b.annot) return false;
  return true;
}
