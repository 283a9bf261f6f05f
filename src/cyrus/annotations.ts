/**
 * Annotation rows (imap/annotate.c @3.6.1) from the global annotations.db
 * (server and mailbox scope) and a mailbox's cyrus.annotations (message scope).
 * Key: `<field1> NUL <entry> NUL <userid> NUL`, field1 = mailbox uniqueid,
 * "" (server) or decimal UID (per-mailbox DB); userid "" = shared, and the
 * owner's private rows use the token `[.OwNeR.]`. Value: a native `unsigned
 * long` holding a network-order 32-bit length (8 bytes on 64-bit Linux: BE
 * length then 4 zero bytes), the value, NUL, legacy content-type string and
 * 8-byte modifiedsince, then 8-byte BE modseq and a flag byte (bit0 DELETED);
 * old rows may stop early. Rows flagged DELETED or with an empty value are
 * tombstones and are skipped unless asked for, as annotatemore_findall does.
 */
import type { Db } from './cyrusdb/types.js';
import { CyrusFileError, decodingFile } from './file-error.js';

export const OWNER_TOKEN = '[.OwNeR.]';
export const IMAP_ANNOT_NS = '/vendor/cmu/cyrus-imapd/';
const FLAG_DELETED = 1;

export interface AnnotationValue {
  readonly value: Buffer;
  readonly modseq: bigint;
  readonly flags: number;
}

export interface AnnotationKey {
  /** Mailbox uniqueid ('' for server scope) in annotations.db; null in a per-mailbox DB. */
  readonly mailbox: string | null;
  /** UID in a per-mailbox DB, 0 otherwise. */
  readonly uid: number;
  readonly entry: string;
  /** '' = shared; may be OWNER_TOKEN. */
  readonly userid: string;
}

export interface Annotation extends Omit<AnnotationKey, 'userid'>, AnnotationValue {
  /** '' = shared; the owner token translated when an owner was given; null = owner row of a non-user mailbox (Cyrus' NULL). */
  readonly userid: string | null;
  /** DELETED flag set or empty value. */
  readonly tombstone: boolean;
}

export class AnnotationFormatError extends CyrusFileError {
  override readonly code: string = 'SYNCMUX_CYRUS_ANNOTATIONS';
}

/**
 * split_key. Returns null for keys without a userid field (Cyrus' find_p
 * drops them). `perMailbox`: the DB is a cyrus.annotations (field1 is a UID).
 */
export function decodeAnnotationKey(key: Buffer, perMailbox: boolean): AnnotationKey | null {
  const z1 = key.indexOf(0);
  if (z1 < 0) return null;
  const z2 = key.indexOf(0, z1 + 1);
  if (z2 < 0) return null;
  const z3 = key.indexOf(0, z2 + 1);
  const userid = key.toString('utf8', z2 + 1, z3 < 0 ? key.length : z3);
  const entry = key.toString('utf8', z1 + 1, z2);
  if (perMailbox) {
    let uid = 0;
    for (let i = 0; i < z1; i++) uid = (uid * 10 + ((key[i] as number) - 0x30)) >>> 0;
    return { mailbox: null, uid, entry, userid };
  }
  return { mailbox: key.toString('utf8', 0, z1), uid: 0, entry, userid };
}

/** split_attribs, for a DB written by a host whose `unsigned long` is `longSize` bytes (8 on 64-bit Linux). */
export function decodeAnnotationValue(data: Buffer, longSize: 4 | 8 = 8): AnnotationValue {
  if (data.length < longSize) throw new AnnotationFormatError('annotation value shorter than its length field');
  const len = data.readUInt32BE(0);
  const start = longSize;
  if (start + len > data.length) throw new AnnotationFormatError('annotation value longer than its record');
  const value = data.subarray(start, start + len);
  let p = start + len + 1;
  let modseq = 0n;
  let flags = 0;
  if (p < data.length) {
    const nul = data.indexOf(0, p);
    p = (nul < 0 ? data.length : nul) + 1 + longSize;
  }
  if (p < data.length && p + 8 <= data.length) {
    modseq = data.readBigUInt64BE(p);
    p += 8;
  }
  if (p < data.length) flags = data[p] as number;
  return { value: flags & FLAG_DELETED ? Buffer.alloc(0) : value, modseq, flags };
}

export interface ReadAnnotationsOptions {
  /** Keep tombstones (ANNOTATE_TOMBSTONES). Default false. */
  tombstones?: boolean;
  /** Replace OWNER_TOKEN with this userid (mboxname_to_userid of the mailbox; null for a non-user mailbox). Undefined keeps the token. */
  owner?: string | null;
  longSize?: 4 | 8;
}

/**
 * Only the decoding of each row is made typed here: errors of the db itself
 * (its own typed errors, or a memo's signal to read under the lock) pass.
 */
function rows(db: Pick<Db, 'entries'> & { readonly path?: string }, prefix: Buffer, perMailbox: boolean, options: ReadAnnotationsOptions): Annotation[] {
  const out: Annotation[] = [];
  const wrap = (m: string, cause: unknown) => new AnnotationFormatError(`annotations: ${m}`, '', { cause });
  for (const e of db.entries(prefix)) {
    const k = decodingFile(db.path ?? '', wrap, () => decodeAnnotationKey(e.key, perMailbox));
    if (!k) continue;
    const v = decodingFile(db.path ?? '', wrap, () => decodeAnnotationValue(e.value, options.longSize));
    const tombstone = (v.flags & FLAG_DELETED) !== 0 || v.value.length === 0;
    if (tombstone && !options.tombstones) continue;
    const userid = k.userid === OWNER_TOKEN && options.owner !== undefined ? options.owner : k.userid;
    out.push(Object.freeze({ ...k, userid, ...v, tombstone }));
  }
  return out;
}

/** Mailbox-scope annotations of one mailbox from annotations.db. */
export function mailboxAnnotations(db: Pick<Db, 'entries'>, uniqueid: string, options: ReadAnnotationsOptions = {}): Annotation[] {
  return rows(db, Buffer.from(`${uniqueid}\0`, 'utf8'), false, options);
}

/** Server-scope annotations from annotations.db. */
export function serverAnnotations(db: Pick<Db, 'entries'>, options: ReadAnnotationsOptions = {}): Annotation[] {
  return rows(db, Buffer.from([0]), false, options);
}

/** Message-scope annotations from a cyrus.annotations, grouped by UID. */
export function messageAnnotations(db: Pick<Db, 'entries'>, options: ReadAnnotationsOptions = {}): Map<number, Annotation[]> {
  const out = new Map<number, Annotation[]>();
  for (const a of rows(db, Buffer.alloc(0), true, options)) {
    if (a.uid === 0) continue;
    const list = out.get(a.uid);
    if (list) list.push(a);
    else out.set(a.uid, [a]);
  }
  return out;
}
