/**
 * The sync-log line types Cyrus 3.6.1 writes or its reader accepts, with the
 * meaning of each argument (imap/sync_log.h, sync_do_reader in
 * imap/sync_client.c). Both the codec (line.ts) and the router (route.ts)
 * read this table, so adding a type is one edit here.
 */

/** What an argument names; decides how the router finds its owner. */
export type ArgKind =
  | 'mailbox' // internal mailbox name: [domain!]user.tom.Sent, DELETED.…, shared.folder
  | 'userid' // external userid: john.smith, tom@example.com
  | 'uniqueid' // mailbox uniqueid (SEEN): carries no owner
  | 'annotation-mailbox'; // mailbox name, or "" for server-level annotations

export const LINE_TYPES = {
  APPEND: ['mailbox'],
  MAILBOX: ['mailbox'],
  UNMAILBOX: ['mailbox'],
  DOUBLEMAILBOX: ['mailbox', 'mailbox'],
  RENAME: ['mailbox', 'mailbox'],
  USER: ['userid'],
  UNUSER: ['userid'],
  META: ['userid'],
  SIEVE: ['userid'], // legacy, read like META; nothing in 3.6.1 writes it
  QUOTA: ['mailbox'], // a quota root is a mailbox name (or "domain!" for a domain quota)
  ANNOTATION: ['annotation-mailbox'],
  SEEN: ['userid', 'uniqueid'],
  SUB: ['userid', 'mailbox'],
  UNSUB: ['userid', 'mailbox'], // read like SUB; nothing in 3.6.1 writes it
} as const satisfies Record<string, readonly ArgKind[]>;

export type LineType = keyof typeof LINE_TYPES;

export const LINE_TYPE_NAMES = Object.keys(LINE_TYPES) as LineType[];

/** Small integer codes for the hot path, which must not allocate type strings. */
export const TYPE_CODE: Readonly<Record<LineType, number>> = Object.fromEntries(
  LINE_TYPE_NAMES.map((name, code) => [name, code]),
) as Record<LineType, number>;

const UPPER_NAME_BYTES = LINE_TYPE_NAMES.map((name) => Buffer.from(name, 'latin1'));

/**
 * Type code of the word src[start, end), case-insensitively (the reader
 * upper-cases the type with ASCII toupper), or -1 for an unknown type.
 */
export function typeCodeOf(src: Uint8Array, start: number, end: number): number {
  const length = end - start;
  for (let code = 0; code < UPPER_NAME_BYTES.length; code++) {
    const name = UPPER_NAME_BYTES[code]!;
    if (name.length !== length) continue;
    let i = 0;
    while (i < length) {
      let byte = src[start + i]!;
      if (byte >= 0x61 && byte <= 0x7a) byte -= 0x20;
      if (byte !== name[i]) break;
      i++;
    }
    if (i === length) return code;
  }
  return -1;
}

export function typeOfCode(code: number): LineType {
  const name = LINE_TYPE_NAMES[code];
  if (name === undefined) throw new RangeError(`no line type has code ${code}`);
  return name;
}

export function argKindsOf(type: LineType): readonly ArgKind[] {
  return LINE_TYPES[type];
}
