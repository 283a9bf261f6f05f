/**
 * cyrus.header (imap/mailbox.c mailbox_read_header): a 115-byte magic, then
 * either the 3.6 one-line dlist `%(T … N … I … Q … A %(…) U (…))` or the older
 * three lines `quotaroot TAB uniqueid` / space-separated user flags / ACL.
 * In 3.6 mailboxes.db is authoritative for name, uniqueid, type and ACL; from
 * here Cyrus takes the quota root and the user-flag names (slot = position).
 * The format is unchanged through 3.12 (3.13 adds a `J` key); keys we do not
 * know are skipped. Pure decoder; the crc of the whole file is returned for
 * the index check.
 */
import { crc32 } from 'node:zlib';
import { isKvList, isList, parseDlistValue, type DValue } from './dlist-value.js';
import { MbTypeError, parseMbType, type MbType } from './mbtype.js';
import { CyrusFileError, decodingFile } from './file-error.js';

export const HEADER_MAGIC = Buffer.concat([
  Buffer.from([0xa1, 0x02, 0x8b, 0x0d]),
  Buffer.from('Cyrus mailbox header\n"The best thing about this system was that it had lots of goals."\n\t--Jim Morris on Andrew\n', 'latin1'),
]);
export const MAX_USER_FLAGS = 128;

export interface MailboxHeader {
  readonly format: 'dlist' | 'legacy';
  /** N (3.6 form only). */
  readonly name: string | null;
  readonly uniqueid: string | null;
  /** T (3.6 form only). */
  readonly mbtype: MbType | null;
  readonly quotaroot: string | null;
  /** Cyrus ACL string copy (`id TAB rights TAB …`), stale-prone: prefer mailboxes.db. */
  readonly acl: string | null;
  /** User-flag names by slot; null = unused slot. Trailing unused slots trimmed. */
  readonly userFlags: ReadonlyArray<string | null>;
  /** crc32 of the whole file, compared by Cyrus with the index's header_file_crc. */
  readonly fileCrc: number;
}

export class HeaderFormatError extends CyrusFileError {
  override readonly code: string = 'SYNCMUX_CYRUS_HEADER';
}

function trimFlags(flags: Array<string | null>): Array<string | null> {
  let n = flags.length;
  while (n > 0 && flags[n - 1] === null) n--;
  return flags.slice(0, Math.min(n, MAX_USER_FLAGS));
}

function headerMbType(text: string | null): MbType {
  try {
    return parseMbType(text);
  } catch (e) {
    if (e instanceof MbTypeError) throw new HeaderFormatError(`cyrus.header: ${e.message}`);
    throw e;
  }
}

function decodeDlistLine(line: Buffer, fileCrc: number): MailboxHeader {
  let v: DValue;
  try {
    v = parseDlistValue(line);
  } catch (e) {
    throw new HeaderFormatError(`cyrus.header: ${(e as Error).message}`);
  }
  if (!isKvList(v)) throw new HeaderFormatError('cyrus.header: not a kvlist');
  let name: string | null = null;
  let uniqueid: string | null = null;
  let mbtype: MbType | null = null;
  let quotaroot: string | null = null;
  let acl: string | null = null;
  let userFlags: Array<string | null> = [];
  for (const [k, val] of v.entries) {
    if (k === 'A' && isKvList(val)) acl = val.entries.map(([id, r]) => `${id}\t${typeof r === 'string' ? r : ''}\t`).join('');
    else if (k === 'U' && isList(val)) userFlags = val.items.map((x) => (typeof x === 'string' ? x : null));
    else if (typeof val === 'string' || val === null) {
      if (k === 'I') uniqueid = val;
      else if (k === 'N') name = val;
      else if (k === 'T') mbtype = headerMbType(val);
      else if (k === 'Q') quotaroot = val;
    }
  }
  return Object.freeze({ format: 'dlist', name, uniqueid, mbtype, quotaroot, acl, userFlags: trimFlags(userFlags), fileCrc });
}

function decodeLegacy(buf: Buffer, start: number, fileCrc: number): MailboxHeader {
  const TAB = 0x09;
  const LF = 0x0a;
  const eol1 = buf.indexOf(LF, start);
  if (eol1 < 0) throw new HeaderFormatError('cyrus.header: missing quota line');
  let tab = buf.indexOf(TAB, start);
  if (tab < 0 || tab > eol1) tab = eol1;
  const quotaroot = start < tab ? buf.toString('utf8', start, tab) : null;
  let uniqueid: string | null = null;
  if (tab < eol1) {
    const p = tab + 1;
    if (p === eol1) throw new HeaderFormatError('cyrus.header: empty uniqueid');
    let t2 = buf.indexOf(TAB, p);
    if (t2 < 0 || t2 > eol1) t2 = eol1;
    uniqueid = buf.toString('utf8', p, t2);
  }
  const eol2 = buf.indexOf(LF, eol1 + 1);
  if (eol2 < 0) throw new HeaderFormatError('cyrus.header: missing flags line');
  // One slot per space-separated token; an empty token is an unused slot.
  const userFlags = buf
    .toString('utf8', eol1 + 1, eol2)
    .split(' ')
    .map((f) => f || null);
  const eol3 = buf.indexOf(LF, eol2 + 1);
  if (eol3 < 0) throw new HeaderFormatError('cyrus.header: missing ACL line');
  const acl = buf.toString('utf8', eol2 + 1, eol3);
  return Object.freeze({ format: 'legacy', name: null, uniqueid, mbtype: null, quotaroot, acl, userFlags: trimFlags(userFlags), fileCrc });
}

/** Decodes a cyrus.header image; `path` names the file in errors. */
export function decodeHeader(buf: Buffer, path = ''): MailboxHeader {
  return decodingFile(path, (m, cause) => new HeaderFormatError(`cyrus.header: ${m}`, '', { cause }), () => decodeHeaderImage(buf));
}

function decodeHeaderImage(buf: Buffer): MailboxHeader {
  if (buf.length < HEADER_MAGIC.length || !buf.subarray(0, HEADER_MAGIC.length).equals(HEADER_MAGIC)) {
    throw new HeaderFormatError('cyrus.header: bad magic');
  }
  const fileCrc = crc32(buf);
  const start = HEADER_MAGIC.length;
  if (buf[start] === 0x25) {
    const eol = buf.indexOf(0x0a, start);
    if (eol < 0) throw new HeaderFormatError('cyrus.header: no end of line');
    return decodeDlistLine(buf.subarray(start, eol), fileCrc);
  }
  return decodeLegacy(buf, start, fileCrc);
}
