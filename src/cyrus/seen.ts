/**
 * Per-user seen state (imap/seen_db.c @3.6.1): a cyrusdb (twoskip by default,
 * sniffed anyway) at the user's `seen` conf path, key = mailbox uniqueid,
 * value `1 <lastread> <lastuid> <lastchange> <seenuids>` where seenuids is an
 * IMAP sequence set kept as text (sync sends it verbatim). It holds the
 * state for mailboxes the user does not own; owners use the index \Seen flag.
 */
import type { Db } from './cyrusdb/types.js';
import { tryOpenDbAsync, type OpenDbOptions } from './cyrusdb/open.js';
import type { Mboxlist } from './mboxlist.js';
import { userConfPath, type PathConfig } from './paths.js';
import { CyrusFileError, decodingFile } from './file-error.js';

export const SEEN_VERSION = 1;

export interface SeenEntry {
  readonly uniqueid: string;
  readonly lastread: number;
  readonly lastuid: number;
  readonly lastchange: number;
  readonly seenuids: string;
}

export class SeenFormatError extends CyrusFileError {
  override readonly code: string = 'SYNCMUX_CYRUS_SEEN';
}

/** parse_data: strtol fields, then the rest after whitespace is the sequence set. */
export function decodeSeenValue(uniqueid: string, value: Buffer): SeenEntry {
  const m = /^\s*([+-]?\d+)\s*([+-]?\d*)\s*([+-]?\d*)\s*([+-]?\d*)\s*/.exec(value.toString('latin1'));
  if (!m || Number(m[1]) !== SEEN_VERSION) throw new SeenFormatError(`seen entry ${uniqueid}: unsupported version`);
  const n = (s: string | undefined): number => Number(s || '0') >>> 0;
  return Object.freeze({
    uniqueid,
    lastread: n(m[2]),
    lastuid: n(m[3]),
    lastchange: n(m[4]),
    seenuids: value.toString('latin1', m[0].length),
  });
}

export function decodeSeenDb(db: Db): SeenEntry[] {
  const wrap = (m: string, cause: unknown) => new SeenFormatError(`seen: ${m}`, '', { cause });
  return [...db.entries()].map((e) => decodingFile(db.path, wrap, () => decodeSeenValue(e.key.toString('utf8'), e.value)));
}

/** seen_getpath: where the user's seen DB lives, given mailboxes.db. */
export function seenPath(cfg: PathConfig, mboxlist: Mboxlist, userid: string): string {
  const inbox = mboxlist.confInbox(userid);
  return userConfPath(cfg, userid, 'seen', inbox ? { uniqueid: inbox.uniqueid, legacyDirs: inbox.mbtype.legacyDirs } : null);
}

/** All seen entries of a user; a missing file means none. */
export function readUserSeen(cfg: PathConfig, mboxlist: Mboxlist, userid: string, options: OpenDbOptions = {}): Promise<SeenEntry[]> {
  return readSeenFile(seenPath(cfg, mboxlist, userid), options);
}

/** All entries of the seen DB at `path` (from seenPath); a missing file means none. The lock is waited for on the event loop. */
export async function readSeenFile(path: string, options: OpenDbOptions = {}): Promise<SeenEntry[]> {
  const db = await tryOpenDbAsync(path, options);
  return db ? decodeSeenDb(db) : [];
}
