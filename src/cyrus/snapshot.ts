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
 * a LockError. The sync and async drivers share one step plan.
 *
 * With `conversations: yes` the folder's thread modseq is read from the
 * user's conversations DB after the index, as Cyrus opens it lazily there,
 * and an INBOX also reads the owner's reverse-ACL modseq (counters file).
 *
 * Records are decoded when asked for (IndexImage): a steady-state APPEND
 * needs the new ones, not the whole of a large mailbox.
 */
import fs from 'node:fs';
import type { LockFile } from '../native/index.js';
import { messageAnnotations, mailboxAnnotations, type Annotation } from './annotations.js';
import type { CyrusConfig } from './config.js';
import { conversationsPath, hasConversations, readXconvmodseq } from './conversations.js';
import { readRaclModseq } from './counters.js';
import { tryOpenDb, withDbLocked } from './cyrusdb/open.js';
import { decodeHeader, type MailboxHeader } from './header.js';
import { IndexImage, isArchived, isUnlinked, OPT, type IndexHeader, type IndexRecord } from './index-file.js';
import { lockExisting, lockExistingSync, lockName, lockNameSync, readAllFd, type LockOptions } from './lock.js';
import { entryState, Mboxlist, type MbEntry } from './mboxlist.js';
import { isUserInbox, mailboxOwner } from './names.js';
import { lockFile, mailboxDataDir, mailboxLockName, mailboxMetaFile, messageFile, userConfPath, userNamespaceLockName, type MailboxLocation } from './paths.js';

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

export class MailboxUnavailableError extends Error {
  override name = 'MailboxUnavailableError';
  constructor(
    readonly mailbox: string,
    readonly reason: 'nonexistent' | 'tombstone' | 'intermediate' | 'reserved' | 'moving' | 'remote' | 'no-partition' | 'deleted' | 'moved',
  ) {
    super(`${mailbox}: ${reason}`);
  }
}

export interface SnapshotOptions extends LockOptions {
  /** Keep the mailbox namelock (shared) after the snapshot; call release() when done with message files. */
  keepNamelock?: boolean;
  /** Looks the name up in mailboxes.db; called under the namespace lock. Default: a fresh O(log n) lookup. */
  lookupEntry?: (name: string) => MbEntry | undefined;
  /** The INBOX whose uniqueid places the owner's per-user files (Mboxlist.confInbox). Default: a fresh lookup. */
  confInbox?: (owner: string, name: string) => MbEntry | undefined;
  /** Mailbox-scope annotations of a uniqueid (owner already translated). Default: a prefix scan of annotations.db. */
  mailboxAnnotations?: (uniqueid: string, owner: string | null) => Annotation[];
}

export interface SnapshotHandle {
  readonly snapshot: MailboxSnapshot;
  /** Drops the namelock if kept; idempotent. */
  release(): void;
}

/** A lock the plan needs: a Cyrus lock file (must exist) or a data file (absent → null). */
interface LockRequest {
  readonly file: string;
  readonly kind: 'lockfile' | 'data';
}

function readOptional(file: string): Buffer | null {
  try {
    return fs.readFileSync(file);
  } catch (e) {
    if ((e as { code?: string }).code === 'ENOENT') return null;
    throw e;
  }
}

function defaultLookup(cfg: CyrusConfig): (name: string) => MbEntry | undefined {
  return (name) => Mboxlist.withLocked(cfg, (ml) => ml.lookup(name));
}

function defaultConfInbox(cfg: CyrusConfig): (owner: string, name: string) => MbEntry | undefined {
  return (owner, name) => Mboxlist.withLocked(cfg, (ml) => ml.confInbox(owner, name));
}

function defaultMailboxAnnotations(cfg: CyrusConfig): (uniqueid: string, owner: string | null) => Annotation[] {
  const file = cfg.db.annotation.path ?? `${cfg.configDirectory}/annotations.db`;
  return (uniqueid, owner) => withDbLocked(file, (db) => mailboxAnnotations(db, uniqueid, { owner })) ?? [];
}

/**
 * The snapshot as a plan: yields each lock it needs in Cyrus' order and reads
 * under them. Its finally releases every lock but a kept namelock, also when
 * the driver abandons it with return().
 */
function* plan(cfg: CyrusConfig, name: string, options: SnapshotOptions): Generator<LockRequest, SnapshotHandle, LockFile | null> {
  const owner = mailboxOwner(name, cfg);
  const lookup = options.lookupEntry ?? defaultLookup(cfg);
  const held: LockFile[] = [];
  let kept: LockFile | null = null;
  const take = function* (file: string, kind: LockRequest['kind']): Generator<LockRequest, LockFile | null, LockFile | null> {
    const lf = yield { file, kind };
    if (lf) held.push(lf);
    return lf;
  };
  try {
    if (owner !== null) yield* take(lockFile(cfg, userNamespaceLockName(owner)), 'lockfile');
    const entry = lookup(name);
    if (!entry) throw new MailboxUnavailableError(name, 'nonexistent');
    const state = entryState(entry);
    if (state !== 'live') throw new MailboxUnavailableError(name, state);
    if (!entry.partition) throw new MailboxUnavailableError(name, 'no-partition');

    // Per-user files sync_client reads only with conversations on (XCONVMODSEQ, RACLMODSEQ).
    let conversationsDb: string | null = null;
    let raclmodseq = 0n;
    if (owner !== null && cfg.conversations) {
      const inboxEntry = (options.confInbox ?? defaultConfInbox(cfg))(owner, name);
      const inbox = inboxEntry ? { uniqueid: inboxEntry.uniqueid, legacyDirs: inboxEntry.mbtype.legacyDirs } : null;
      if (hasConversations(cfg, name, entry.mbtype)) conversationsDb = conversationsPath(cfg, owner, inbox);
      if (isUserInbox(name, cfg)) raclmodseq = readRaclModseq(userConfPath(cfg, owner, 'counters', inbox));
    }

    const location: MailboxLocation = { name, uniqueid: entry.uniqueid, partition: entry.partition, legacyDirs: entry.mbtype.legacyDirs };
    const namelock = yield* take(lockFile(cfg, mailboxLockName(location)), 'lockfile');

    const indexPath = mailboxMetaFile(cfg, location, 'index');
    const index = yield* take(indexPath, 'data');
    if (!index) throw new MailboxUnavailableError(name, 'nonexistent');
    const headerPath = mailboxMetaFile(cfg, location, 'header');
    const headerBuf = readOptional(headerPath);
    if (!headerBuf) throw new MailboxUnavailableError(name, 'nonexistent');
    const header = decodeHeader(headerBuf);
    const image = new IndexImage(readAllFd(index.fd));
    const ih = image.header;
    if (ih.options & OPT.MAILBOX_DELETED) throw new MailboxUnavailableError(name, 'deleted');

    const uniqueid = entry.uniqueid ?? header.uniqueid;
    const fullLocation = { ...location, uniqueid };
    const annotationsPath = mailboxMetaFile(cfg, fullLocation, 'annotations');
    const annotDb = tryOpenDb(annotationsPath, options);
    const msgAnnots = annotDb ? messageAnnotations(annotDb, { owner }) : new Map<number, Annotation[]>();
    const mbAnnots = uniqueid ? (options.mailboxAnnotations ?? defaultMailboxAnnotations(cfg))(uniqueid, owner) : [];
    const xconvmodseq = conversationsDb === null ? null : readXconvmodseq(conversationsDb, { uniqueid, name }, options);

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

/** Takes the snapshot, blocking this thread on each lock (bounded by timeoutMs). */
export function takeMailboxSnapshotSync(cfg: CyrusConfig, name: string, options: SnapshotOptions = {}): SnapshotHandle {
  const steps = plan(cfg, name, options);
  let next = steps.next();
  while (!next.done) {
    const req = next.value;
    let lf: LockFile | null;
    try {
      lf = req.kind === 'lockfile' ? lockNameSync(req.file, 'shared', options) : lockExistingSync(req.file, 'shared', options);
    } catch (e) {
      steps.return(undefined as never);
      throw e;
    }
    next = steps.next(lf);
  }
  return next.value;
}

/** Takes the snapshot, waiting for locks on the libuv pool. */
export async function takeMailboxSnapshot(cfg: CyrusConfig, name: string, options: SnapshotOptions = {}): Promise<SnapshotHandle> {
  const steps = plan(cfg, name, options);
  let next = steps.next();
  while (!next.done) {
    const req = next.value;
    let lf: LockFile | null;
    try {
      lf = req.kind === 'lockfile' ? await lockName(req.file, 'shared', options) : await lockExisting(req.file, 'shared', options);
    } catch (e) {
      steps.return(undefined as never);
      throw e;
    }
    next = steps.next(lf);
  }
  return next.value;
}
