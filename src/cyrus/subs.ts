/**
 * Per-user subscriptions (imap/mboxlist.c mboxlist_sublist @3.6.1): a
 * cyrusdb (flat by default, sniffed) at the user's `sub` conf path. Version 2
 * files (key `\x1FVER\x1F` = 2) hold `N<dbname>` keys where a leading copy of
 * the user's own INBOX dbname is replaced by the literal `INBOX` — a raw byte
 * prefix test, so `user\x1Ftommy` for `tom` is stored as `NINBOXmy` and
 * decodes back the same way. Version 3 (Cyrus 3.12, issue #5146) substitutes
 * only a whole INBOX dbname: `NINBOX` is followed by nothing or 0x1F, and
 * `user\x1Ftommy` stays as it is (so a shared `NINBOXfoo` is just that name).
 * Older files (no version key) use internal names as keys. Cyrus upgrades
 * every older file on open; we only read them, each by its own version, and
 * refuse a version we do not know rather than guess names (a wrong list would
 * unsubscribe on the replica).
 */
import type { Db } from './cyrusdb/types.js';
import { tryOpenDbAsync, type OpenDbOptions } from './cyrusdb/open.js';
import type { Mboxlist } from './mboxlist.js';
import { dbNameToIntName, formatDbName, parseUserId, type NameContext } from './names.js';
import { userConfPath, type PathConfig } from './paths.js';
import { CyrusFileError, namingFile } from './file-error.js';

export const SUBS_VERSION_KEY = '\x1fVER\x1f';

export class SubsFormatError extends CyrusFileError {
  override readonly code: string = 'SYNCMUX_CYRUS_SUBS';
}

/** The file's version: 0 without a version key (pre-3.6), else the key's number (2 or 3). */
export function subscriptionsVersion(db: Pick<Db, 'get'>): number {
  const raw = db.get(SUBS_VERSION_KEY);
  if (raw === undefined) return 0;
  const text = raw.toString('latin1');
  if (!/^\d+$/.test(text)) throw new SubsFormatError(`subscriptions: bad version '${text}'`);
  const v = Number(text);
  if (v !== 2 && v !== 3) throw new SubsFormatError(`subscriptions: unknown version ${v}`);
  return v;
}

/** mboxlist_dbname_from_key for the file's version (`key` without its leading `N`). */
function keyToDbName(key: string, inboxDbName: string, version: number): string {
  if (!key.startsWith('INBOX')) return key;
  if (version === 2 || key.length === 5 || key[5] === '\x1f' || key[5] === '\0') return inboxDbName + key.slice(5);
  return key;
}

/** Decodes a subscription DB into internal mailbox names (file order). */
export function decodeSubscriptions(db: Db, userid: string, ctx: NameContext): string[] {
  const version = namingFile(db.path, () => subscriptionsVersion(db));
  if (version === 0) {
    return [...db.entries()].map((e) => e.key.toString('utf8'));
  }
  const inboxDbName = formatDbName(parseUserId(userid, ctx), ctx);
  const out: string[] = [];
  for (const e of db.entries('N')) {
    out.push(dbNameToIntName(keyToDbName(e.key.toString('utf8', 1), inboxDbName, version), ctx));
  }
  return out;
}

export function subsPath(cfg: PathConfig, mboxlist: Mboxlist, userid: string): string {
  const inbox = mboxlist.confInbox(userid);
  return userConfPath(cfg, userid, 'sub', inbox ? { uniqueid: inbox.uniqueid, legacyDirs: inbox.mbtype.legacyDirs } : null);
}

/** The user's subscribed internal names; a missing file means none. */
export function readUserSubscriptions(cfg: PathConfig & NameContext, mboxlist: Mboxlist, userid: string, options: OpenDbOptions = {}): Promise<string[]> {
  return readSubscriptionsFile(cfg, subsPath(cfg, mboxlist, userid), userid, options);
}

/** The subscriptions in the DB at `path` (from subsPath); a missing file means none. The lock is waited for on the event loop. */
export async function readSubscriptionsFile(cfg: PathConfig & NameContext, path: string, userid: string, options: OpenDbOptions = {}): Promise<string[]> {
  const db = await tryOpenDbAsync(path, options);
  return db ? decodeSubscriptions(db, userid, cfg) : [];
}
