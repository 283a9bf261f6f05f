/**
 * Mailbox types as stored in mailboxes.db and cyrus.header (`T` field) and sent
 * as MBOXTYPE: the bit layout of imap/mboxlist.h @3.6.1 and the letter codes of
 * mboxlist_mbtype_to_string / mboxlist_string_to_mbtype. 3.8 added type 0x4,
 * JMAP notifications (`j`); 3.10 and 3.12 added nothing further.
 */
import { SyncmuxError } from '../errors.js';

export type MailboxKind = 'email' | 'netnews' | 'jmapsubmit' | 'jmappushsub' | 'jmapnotify' | 'sieve' | 'collection' | 'calendar' | 'addressbook';

export interface MbType {
  /** Cyrus' numeric mbtype (low nibble kind, flag bits above). */
  readonly bits: number;
  readonly kind: MailboxKind;
  readonly deleted: boolean;
  readonly moving: boolean;
  readonly remote: boolean;
  readonly reserve: boolean;
  readonly intermediate: boolean;
  readonly legacyDirs: boolean;
}

export const MBTYPE = {
  EMAIL: 0x0,
  NETNEWS: 0x1,
  JMAPSUBMIT: 0x2,
  JMAPPUSHSUB: 0x3,
  JMAPNOTIFY: 0x4,
  SIEVE: 0x5,
  COLLECTION: 0x8,
  CALENDAR: 0x9,
  ADDRESSBOOK: 0xa,
  REMOTE: 1 << 4,
  RESERVE: 1 << 5,
  MOVING: 1 << 6,
  DELETED: 1 << 7,
  INTERMEDIATE: 1 << 8,
  LEGACY_DIRS: 1 << 9,
} as const;

const KINDS: ReadonlyArray<readonly [number, MailboxKind, string]> = [
  [MBTYPE.EMAIL, 'email', 'e'],
  [MBTYPE.NETNEWS, 'netnews', 'n'],
  [MBTYPE.JMAPSUBMIT, 'jmapsubmit', 's'],
  [MBTYPE.JMAPPUSHSUB, 'jmappushsub', 'p'],
  [MBTYPE.JMAPNOTIFY, 'jmapnotify', 'j'],
  [MBTYPE.SIEVE, 'sieve', 'f'],
  [MBTYPE.COLLECTION, 'collection', 'b'],
  [MBTYPE.CALENDAR, 'calendar', 'c'],
  [MBTYPE.ADDRESSBOOK, 'addressbook', 'a'],
];
const FLAGS: ReadonlyArray<readonly [number, string]> = [
  [MBTYPE.DELETED, 'd'],
  [MBTYPE.MOVING, 'm'],
  [MBTYPE.REMOTE, 'r'],
  [MBTYPE.RESERVE, 'z'],
  [MBTYPE.INTERMEDIATE, 'i'],
  [MBTYPE.LEGACY_DIRS, 'l'],
];
// Parser's flag letters: `f` counts as a flag too (legacy entries without a leading type).
const PARSE_FLAGS: Record<string, number> = { d: MBTYPE.DELETED, f: MBTYPE.SIEVE, i: MBTYPE.INTERMEDIATE, l: MBTYPE.LEGACY_DIRS, m: MBTYPE.MOVING, r: MBTYPE.REMOTE, z: MBTYPE.RESERVE };
const PARSE_TYPES: Record<string, number> = { a: MBTYPE.ADDRESSBOOK, b: MBTYPE.COLLECTION, c: MBTYPE.CALENDAR, e: MBTYPE.EMAIL, j: MBTYPE.JMAPNOTIFY, n: MBTYPE.NETNEWS, p: MBTYPE.JMAPPUSHSUB, s: MBTYPE.JMAPSUBMIT };

export class MbTypeError extends SyncmuxError {
  constructor(message: string, options?: ErrorOptions) {
    super('SYNCMUX_MB_TYPE', message, options);
  }
}

export function mbTypeFromBits(bits: number): MbType {
  const kind = KINDS.find(([v]) => v === (bits & 0xf))?.[1];
  if (!kind) throw new MbTypeError(`unknown mailbox type ${bits & 0xf}`);
  return Object.freeze({
    bits,
    kind,
    deleted: (bits & MBTYPE.DELETED) !== 0,
    moving: (bits & MBTYPE.MOVING) !== 0,
    remote: (bits & MBTYPE.REMOTE) !== 0,
    reserve: (bits & MBTYPE.RESERVE) !== 0,
    intermediate: (bits & MBTYPE.INTERMEDIATE) !== 0,
    legacyDirs: (bits & MBTYPE.LEGACY_DIRS) !== 0,
  });
}

/** mboxlist_string_to_mbtype: first char may be a type letter, the rest are flags. */
export function parseMbType(text: string | null | undefined): MbType {
  if (!text) return mbTypeFromBits(0);
  let bits = 0;
  let i = 0;
  const first = PARSE_TYPES[text[0] ?? ''];
  if (first !== undefined) {
    bits = first;
    i = 1;
  }
  for (; i < text.length; i++) {
    const f = PARSE_FLAGS[text[i] ?? ''];
    if (f === undefined) throw new MbTypeError(`unknown mbtype letter '${text[i]}' in '${text}'`);
    bits |= f;
  }
  return mbTypeFromBits(bits);
}

/** mboxlist_mbtype_to_string. */
export function formatMbType(t: MbType | number): string {
  const bits = typeof t === 'number' ? t : t.bits;
  let s = KINDS.find(([v]) => v === (bits & 0xf))?.[2] ?? '';
  for (const [bit, ch] of FLAGS) if (bits & bit) s += ch;
  return s;
}

/** What sync sends as MBOXTYPE (mbtypes_sync: `l` removed); null when that is plain email (not sent). */
export function syncMbType(t: MbType): string | null {
  const bits = t.bits & ~MBTYPE.LEGACY_DIRS;
  return bits === 0 ? null : formatMbType(bits);
}
