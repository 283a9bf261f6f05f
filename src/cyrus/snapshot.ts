/**
 * A consistent, immutable snapshot of one mailbox — mailboxes.db entry,
 * cyrus.header, cyrus.index header and records, annotations, message file
 * paths (never bodies) — taken under Cyrus 3.6.1's lock order, all shared:
 *   1. user namespace lock `*U*<user>` (user mailboxes only),
 *   2. mailboxes.db re-read (the entry may have moved meanwhile),
 *   3. mailbox namelock (uniqueid, or name for legacy dirs),
 *   4. cyrus.index lock, then header, index and annotation reads,
 * then release the index and namespace locks at once (index writers of this
 * user wait on the namespace lock while we hold it). The namelock can be kept
 * while the caller streams message files (it blocks unlink/repack), and must
 * then be released promptly. Lock files are never created: a missing one is
 * a LockError. Lock waits happen on the event loop (the plan yields them).
 *
 * With `conversations: yes` the folder's thread modseq is read from the
 * user's conversations DB after the index, as Cyrus opens it lazily there,
 * and an INBOX also reads the owner's reverse-ACL modseq (counters file).
 *
 * A live entry whose cyrus.index or cyrus.header is missing under the
 * namelock is a damaged store (CyrusFileError naming the file), never
 * "nonexistent", so that user fails loudly instead of syncing without it.
 *
 * Records are decoded when asked for (IndexImage): a steady-state APPEND
 * needs the new ones, not the whole of a large mailbox.
 */
import fs from 'node:fs';
import { selectIndexRecords, type LockFile } from '../native/index.js';
import { messageAnnotations, mailboxAnnotations, type Annotation } from './annotations.js';
import type { CyrusConfig } from './config.js';
import { conversationsPath, folderThreadModseq, hasConversations } from './conversations.js';
import { readRaclModseq } from './counters.js';
import { pathIdentity, readLockedDb, type DbReader } from './cyrusdb/open.js';
import type { DbMemos } from './cyrusdb/read-memo.js';
import { DbBusyError } from './cyrusdb/types.js';
import { CyrusFileError } from './file-error.js';
import { type ContentMemo } from './content-memo.js';
import { decodeHeader, type MailboxHeader } from './header.js';
import { IndexFormatError, IndexImage, IndexSelection, isArchived, isUnlinked, MAX_HEADER_LENGTH, OPT, recordModseqOffset, selectionHeader, type IndexHeader, type IndexRecord, type IndexRecords, type IndexScope } from './index-file.js';
import { lockExisting, lockName, readAllFd, readRangeFd, type LockOptions } from './lock.js';
import { entryState, Mboxlist, mboxlistPath, type MbEntry } from './mboxlist.js';
import { isUserInbox, mailboxOwner } from './names.js';
import { lockFile, mailboxDataDir, mailboxLockName, mailboxMetaFile, messageFile, userConfPath, userNamespaceLockName, type MailboxLocation } from './paths.js';
import { SyncmuxError } from '../errors.js';

export interface SnapshotRecord extends IndexRecord {
  /** Message file to send (archive partition if ARCHIVED); null for UNLINKED records, which have none. */
  readonly file: string | null;
}

export interface MailboxSnapshot {
  readonly name: string;
  /** userid owning the mailbox (also for DELETED.user.… names), null for shared mailboxes. */
  readonly owner: string | null;
  /** Authoritative identity, type, partition, ACL, foldermodseq. */
  readonly entry: MbEntry;
  /** uniqueid as Cyrus uses it: the entry's, else the header's. */
  readonly uniqueid: string | null;
  readonly location: MailboxLocation;
  readonly header: MailboxHeader;
  readonly index: IndexHeader;
  /** In UID order, expunged ones included, damaged uid-0 slots excluded. Decoded on first use. */
  readonly records: readonly SnapshotRecord[];
  /** The records with MODSEQ above `modseq`, decoding only those. */
  recordsModifiedSince(modseq: bigint): readonly SnapshotRecord[];
  /** The records with UID above `uid`, decoding only those. */
  recordsAboveUid(uid: number): readonly SnapshotRecord[];
  /** Slot → user flag name (from cyrus.header). */
  readonly userFlags: ReadonlyArray<string | null>;
  /** Mailbox-scope annotations (annotations.db), owner token translated, no tombstones. */
  readonly mailboxAnnotations: readonly Annotation[];
  /** Message-scope annotations (cyrus.annotations) by UID, owner token translated, no tombstones. */
  readonly messageAnnotations: ReadonlyMap<number, readonly Annotation[]>;
  /** Cyrus only logs a cyrus.header CRC mismatch; so do we (flag it). */
  readonly headerCrcMismatch: boolean;
  /** The folder's thread modseq (XCONVMODSEQ); null when Cyrus keeps no conversations for it. */
  readonly xconvmodseq: bigint | null;
  /** The owner's reverse-ACL modseq (RACLMODSEQ): user INBOXes with conversations on, else 0. */
  readonly raclmodseq: bigint;
  readonly paths: { readonly dataDir: string; readonly header: string; readonly index: string; readonly annotations: string };
}

export class MailboxUnavailableError extends SyncmuxError {
  constructor(
    readonly mailbox: string,
    readonly reason: 'nonexistent' | 'tombstone' | 'intermediate' | 'reserved' | 'moving' | 'remote' | 'no-partition' | 'deleted' | 'moved',
  ) {
    super('SYNCMUX_MAILBOX_UNAVAILABLE', `${mailbox}: ${reason}`);
  }
}

export interface SnapshotOptions extends LockOptions {
  /** Keep the mailbox namelock (shared) after the snapshot; call release() when done with message files. */
  keepNamelock?: boolean;
  /** Answers database reads from what was read before while the files are unchanged (mailboxes.db, annotations.db). */
  memos?: DbMemos;
  /** Decoded cyrus.header files by content, reused across snapshots. */
  headers?: ContentMemo<MailboxHeader>;
  /**
   * Read only the index records with MODSEQ or UID above these (what the
   * replica lacks); asking the snapshot for others throws IndexScopeError.
   * Without it the whole index is read.
   */
  scope?: IndexScope;
}

export interface SnapshotHandle {
  readonly snapshot: MailboxSnapshot;
  /** Drops the namelock if kept; idempotent. */
  release(): void;
}

/** What the plan needs from its driver: a lock on a Cyrus lock file (must exist) or a data file (absent → null), or a pause. */
type LockRequest = { readonly file: string; readonly kind: 'lockfile' | 'data' } | { readonly kind: 'pause'; readonly ms: number };

/** The records `scope` names, read through the locked fd by the addon; the rest of the file is never copied. */
function selectIndex(fd: number, path: string, scope: IndexScope): IndexRecords {
  const header = selectionHeader(readRangeFd(fd, 0, MAX_HEADER_LENGTH), path);
  const layout = { startOffset: header.startOffset, recordSize: header.recordSize, numRecords: header.numRecords, modseqOffset: recordModseqOffset(header.minorVersion) };
  const selected = selectIndexRecords(fd, layout, scope.modseq, scope.uid);
  if (!selected) {
    const need = header.startOffset + header.numRecords * header.recordSize;
    throw new IndexFormatError(`cyrus.index: ${header.numRecords} records need ${need} bytes, file has ${fs.fstatSync(fd).size}`, path);
  }
  return new IndexSelection(header, selected, scope, path);
}

function readOptional(file: string): Buffer | null {
  try {
    return fs.readFileSync(file);
  } catch (e) {
    if ((e as { code?: string }).code === 'ENOENT') return null;
    throw e;
  }
}

const BUSY_RETRIES = 5;

/**
 * A read of a cyrusdb file as plan steps: from the memo while the file is
 * unchanged, else under a shared lock the driver waits for (so the async
 * driver never blocks its event loop on Cyrus), released at once. A busy
 * image is retried after a pause; `absent` when there is no file.
 */
function* readDb<T>(path: string, fn: (db: DbReader) => T, absent: T, memos: DbMemos | undefined): Generator<LockRequest, T, LockFile | null> {
  const memo = memos?.of(path);
  const hit = memo?.answer(pathIdentity(path), fn);
  if (hit) return hit.value;
  let delay = 20;
  for (let attempt = 0; ; attempt++) {
    const lf = yield { file: path, kind: 'data' };
    if (!lf) return absent;
    try {
      return readLockedDb(lf, path, fn, memo);
    } catch (e) {
      if (!(e instanceof DbBusyError) || attempt >= BUSY_RETRIES) throw e;
    } finally {
      lf.close();
    }
    yield { kind: 'pause', ms: delay };
    delay *= 2;
  }
}

/**
 * The snapshot as a plan: yields each lock it needs in Cyrus' order and reads
 * under them. Its finally releases every lock but a kept namelock, also when
 * the driver abandons it with return().
 */
function* plan(cfg: CyrusConfig, name: string, options: SnapshotOptions): Generator<LockRequest, SnapshotHandle, LockFile | null> {
  const owner = mailboxOwner(name, cfg);
  const mailboxesDb = mboxlistPath(cfg);
  const inMboxlist = <T>(fn: (ml: Mboxlist) => T) => readDb(mailboxesDb, (db) => fn(new Mboxlist(db, cfg)), undefined, options.memos);
  const held: LockFile[] = [];
  let kept: LockFile | null = null;
  const take = function* (file: string, kind: 'lockfile' | 'data'): Generator<LockRequest, LockFile | null, LockFile | null> {
    const lf = yield { file, kind };
    if (lf) held.push(lf);
    return lf;
  };
  try {
    if (owner !== null) yield* take(lockFile(cfg, userNamespaceLockName(owner)), 'lockfile');
    const entry = yield* inMboxlist((ml) => ml.lookup(name));
    if (!entry) throw new MailboxUnavailableError(name, 'nonexistent');
    const state = entryState(entry);
    if (state !== 'live') throw new MailboxUnavailableError(name, state);
    if (!entry.partition) throw new MailboxUnavailableError(name, 'no-partition');

    // Per-user files sync_client reads only with conversations on (XCONVMODSEQ, RACLMODSEQ).
    let conversationsDb: string | null = null;
    let raclmodseq = 0n;
    if (owner !== null && cfg.conversations) {
      const inboxEntry = yield* inMboxlist((ml) => ml.confInbox(owner, name));
      const inbox = inboxEntry ? { uniqueid: inboxEntry.uniqueid, legacyDirs: inboxEntry.mbtype.legacyDirs } : null;
      if (hasConversations(cfg, name, entry.mbtype)) conversationsDb = conversationsPath(cfg, owner, inbox);
      if (isUserInbox(name, cfg)) raclmodseq = readRaclModseq(userConfPath(cfg, owner, 'counters', inbox));
    }

    const location: MailboxLocation = { name, uniqueid: entry.uniqueid, partition: entry.partition, legacyDirs: entry.mbtype.legacyDirs };
    const namelock = yield* take(lockFile(cfg, mailboxLockName(location)), 'lockfile');

    /**
     * A file missing under the namelock: if the entry is still the same live
     * mailbox, the store is damaged (Cyrus creates and removes a mailbox's
     * files and entry under this lock), which must fail this user loudly;
     * else the mailbox went away meanwhile.
     */
    const missing = function* (file: string): Generator<LockRequest, never, LockFile | null> {
      const now = yield* inMboxlist((ml) => ml.lookup(name));
      if (now && entryState(now) === 'live' && now.uniqueid === entry.uniqueid && now.partition === entry.partition) {
        throw new CyrusFileError(`${name}: missing, but its mailboxes.db entry is live`, file);
      }
      throw new MailboxUnavailableError(name, 'nonexistent');
    };
    const indexPath = mailboxMetaFile(cfg, location, 'index');
    const index = (yield* take(indexPath, 'data')) ?? (yield* missing(indexPath));
    const headerPath = mailboxMetaFile(cfg, location, 'header');
    const headerBuf = readOptional(headerPath) ?? (yield* missing(headerPath));
    const header = options.headers ? options.headers.decode(headerBuf, (b) => decodeHeader(b, headerPath)) : decodeHeader(headerBuf, headerPath);
    const image = options.scope ? selectIndex(index.fd, indexPath, options.scope) : new IndexImage(readAllFd(index.fd), indexPath);
    const ih = image.header;
    if (ih.options & OPT.MAILBOX_DELETED) throw new MailboxUnavailableError(name, 'deleted');

    const uniqueid = entry.uniqueid ?? header.uniqueid;
    const fullLocation = { ...location, uniqueid };
    const annotationsPath = mailboxMetaFile(cfg, fullLocation, 'annotations');
    const msgAnnots = yield* readDb(annotationsPath, (db) => messageAnnotations(db, { owner }), new Map<number, Annotation[]>(), undefined);
    const annotationsDb = cfg.db.annotation.path ?? `${cfg.configDirectory}/annotations.db`;
    const mbAnnots = uniqueid ? yield* readDb(annotationsDb, (db) => mailboxAnnotations(db, uniqueid, { owner }), [], options.memos) : [];
    const xconvmodseq = conversationsDb === null ? null : yield* readDb(conversationsDb, (db) => folderThreadModseq(db, { uniqueid, name }), 0n, undefined);

    const withFile = (r: IndexRecord): SnapshotRecord =>
      Object.freeze({ ...r, file: isUnlinked(r) ? null : messageFile(cfg, fullLocation, r.uid, isArchived(r)) });
    let records: readonly SnapshotRecord[] | null = null;
    const snapshot: MailboxSnapshot = Object.freeze({
      name,
      owner,
      entry,
      uniqueid,
      location: fullLocation,
      header,
      index: ih,
      get records() {
        return (records ??= image.all().map(withFile));
      },
      recordsModifiedSince: (modseq: bigint) => image.modifiedSince(modseq).map(withFile),
      recordsAboveUid: (uid: number) => image.uidAbove(uid).map(withFile),
      userFlags: header.userFlags,
      mailboxAnnotations: mbAnnots,
      messageAnnotations: msgAnnots,
      headerCrcMismatch: header.fileCrc !== 0 && ih.headerFileCrc !== 0 && header.fileCrc !== ih.headerFileCrc,
      xconvmodseq,
      raclmodseq,
      paths: { dataDir: mailboxDataDir(cfg, fullLocation), header: headerPath, index: indexPath, annotations: annotationsPath },
    });

    if (options.keepNamelock) kept = namelock;
    let released = false;
    return {
      snapshot,
      release: () => {
        if (!released) kept?.close();
        released = true;
      },
    };
  } finally {
    // Reverse order: index, then (unless kept) namelock, then namespace.
    for (const lf of held.reverse()) if (lf !== kept) lf.close();
  }
}

/** Takes the snapshot, waiting for locks on the event loop (lockPolling): never blocking it. */
export async function takeMailboxSnapshot(cfg: CyrusConfig, name: string, options: SnapshotOptions = {}): Promise<SnapshotHandle> {
  const steps = plan(cfg, name, options);
  let next = steps.next();
  while (!next.done) {
    const req = next.value;
    let lf: LockFile | null = null;
    try {
      if (req.kind === 'pause') await new Promise((r) => setTimeout(r, req.ms));
      else lf = req.kind === 'lockfile' ? await lockName(req.file, 'shared', options) : await lockExisting(req.file, 'shared', options);
    } catch (e) {
      steps.return(undefined as never);
      throw e;
    }
    next = steps.next(lf);
  }
  return next.value;
}
