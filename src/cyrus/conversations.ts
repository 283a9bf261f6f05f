/**
 * The one thing sync_client reads from a user's conversations DB (imap/
 * conversations.c @3.6.1): a folder's thread modseq, sent as XCONVMODSEQ and
 * compared by is_unchanged. Only when `conversations: yes`, and only for a
 * user's live, non-submission mailbox (mailbox_has_conversations). Folder
 * records are keyed `F<uniqueid>`, or `F<name>` in an old DB that has
 * `$FOLDER_NAMES` but no `$FOLDER_IDS`; the value is `0 (<threadmodseq>
 * <threadexists> …)`: a plain list, whose field names Cyrus never prints.
 * Unchanged through 3.12; 3.10's version 3 `G` records (a basecid added)
 * are never read. The caller holds the user's namespace lock, as Cyrus does.
 */
import type { CyrusConfig } from './config.js';
import type { Db } from './cyrusdb/types.js';
import { isList, parseDlistValue, toBigNum } from './dlist-value.js';
import type { MbType } from './mbtype.js';
import { parseIntName } from './names.js';
import { userConfPath, type InboxRef } from './paths.js';

const STATUS_VERSION = '0';

/** mailbox_has_conversations: does Cyrus keep thread state for this mailbox? */
export function hasConversations(cfg: Pick<CyrusConfig, 'conversations' | 'jmapSubmissionFolder' | 'deletedPrefix' | 'defaultDomain'>, name: string, mbtype: MbType): boolean {
  if (!cfg.conversations) return false;
  const mb = parseIntName(name, cfg);
  if (mb.localpart === null || mb.isDeleted) return false;
  if (mbtype.kind === 'jmapsubmit' || mb.boxes[0] === cfg.jmapSubmissionFolder) return false;
  return true;
}

/** The user's conversations DB (mboxname_conf_getpath with suffix "conversations"). */
export function conversationsPath(cfg: CyrusConfig, owner: string, inbox: InboxRef | null): string {
  return userConfPath(cfg, owner, 'conversations', inbox);
}

/** conversation_parsestatus' THREADMODSEQ; 0 for an absent or unreadable record, as Cyrus sends nothing then. */
export function parseThreadModseq(value: Buffer | undefined): bigint {
  if (!value) return 0n;
  const text = value.toString('latin1');
  const space = text.indexOf(' ');
  if (space < 0 || text.slice(0, space) !== STATUS_VERSION) return 0n;
  try {
    const status = parseDlistValue(text.slice(space + 1));
    const first = isList(status) ? status.items[0] : undefined;
    return typeof first === 'string' ? toBigNum(first) : 0n;
  } catch {
    return 0n;
  }
}

/** A folder's thread modseq in an open conversations DB. */
export function folderThreadModseq(db: Pick<Db, 'get'>, folder: { uniqueid: string | null; name: string }): bigint {
  const byName = db.get('$FOLDER_IDS') === undefined && db.get('$FOLDER_NAMES') !== undefined;
  const key = byName ? folder.name : folder.uniqueid;
  return key ? parseThreadModseq(db.get(`F${key}`)) : 0n;
}
