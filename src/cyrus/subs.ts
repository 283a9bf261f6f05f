/**
 * Per-user subscriptions (imap/mboxlist.c mboxlist_sublist @3.6.1): a
 * cyrusdb (flat by default, sniffed) at the user's `sub` conf path. Version 2
 * files (key `\x1FVER\x1F` = 2) hold `N<dbname>` keys where a leading copy of
 * the user's own INBOX dbname is replaced by the literal `INBOX` — a raw byte
 * prefix test, so `user\x1Ftommy` for `tom` is stored as `NINBOXmy` and
 * decodes back the same way. Older files (no version key) use internal names
 * as keys; Cyrus upgrades them on open, we only read both.
 */
import type { Db } from './cyrusdb/types.js';
import { tryOpenDb, type OpenDbOptions } from './cyrusdb/open.js';
import type { Mboxlist } from './mboxlist.js';
import { dbNameToIntName, formatDbName, parseUserId, type NameContext } from './names.js';
import { userConfPath, type PathConfig } from './paths.js';

export const SUBS_VERSION_KEY = '\x1fVER\x1f';

/** Decodes a subscription DB into internal mailbox names (file order). */
export function decodeSubscriptions(db: Db, userid: string, ctx: NameContext): string[] {
  if (!db.get(SUBS_VERSION_KEY)) {
    return [...db.entries()].map((e) => e.key.toString('utf8'));
  }
  const inboxDbName = formatDbName(parseUserId(userid, ctx), ctx);
  const out: string[] = [];
  for (const e of db.entries('N')) {
    const key = e.key.toString('utf8');
    const dbname = key.length >= 6 && key.startsWith('INBOX', 1) ? inboxDbName + key.slice(6) : key.slice(1);
    out.push(dbNameToIntName(dbname, ctx));
  }
  return out;
}

export function subsPath(cfg: PathConfig, mboxlist: Mboxlist, userid: string): string {
  const inbox = mboxlist.confInbox(userid);
  return userConfPath(cfg, userid, 'sub', inbox ? { uniqueid: inbox.uniqueid, legacyDirs: inbox.mbtype.legacyDirs } : null);
}

/** The user's subscribed internal names; a missing file means none. */
export function readUserSubscriptions(cfg: PathConfig & NameContext, mboxlist: Mboxlist, userid: string, options: OpenDbOptions = {}): string[] {
  return readSubscriptionsFile(cfg, subsPath(cfg, mboxlist, userid), userid, options);
}

/** The subscriptions in the DB at `path` (from subsPath); a missing file means none. */
export function readSubscriptionsFile(cfg: PathConfig & NameContext, path: string, userid: string, options: OpenDbOptions = {}): string[] {
  const db = tryOpenDb(path, options);
  return db ? decodeSubscriptions(db, userid, cfg) : [];
}
