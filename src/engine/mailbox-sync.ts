/**
 * Mailbox replication (stock's sync_do_mailboxes / do_folders /
 * update_mailbox_once, sync-protocol.md §6.1–6.3, §7.1): match master and
 * replica folders by uniqueid, rename where names differ, delete replica
 * folders that have a local tombstone (user syncs only), then for each
 * changed folder reserve, upload missing messages streamed from disk, and
 * APPLY MAILBOX with only the records the replica lacks.
 *
 * The retry ladder stops where stock would repair the master (GET
 * FULLMAILBOX + local rewrite): syncmux never writes the master's store, so
 * a CHECKSUM that survives a fresh retry raises NeedsCopybackError for the
 * caller to hand the user to Cyrus's own sync_client.
 */
import { file, type DFile } from '../dlist/index.js';
import {
  isUnlinked,
  type Mboxlist,
  type MbEntry,
  MailboxUnavailableError,
  takeMailboxSnapshot,
  type MailboxSnapshot,
  type SnapshotHandle,
  type IndexScope,
} from '../cyrus/index.js';
import { isConnectionError, SyncProtocolError } from '../protocol/index.js';
import { intermediateDlist, mailboxDlist, recomputeSyncCrcs, storedSyncCrcsUsable } from './mailbox-dlist.js';
import { decodeReplicaMailbox, isUnchanged, replicaStateAfterApply, type ReplicaMailbox } from './replica-mailbox.js';
import { NeedsCyrusClientError } from './copyback.js';
import type { ReplicaSession } from './session.js';
import { SUSPEND_MS } from './upload-pipelining.js';
import { takeUploads } from './rate-limit.js';

/** Files per APPLY MESSAGE, as stock. */
const FILES_PER_MESSAGE = 1024;
const MAX_RENAME_ROUNDS = 3;

export class NeedsCopybackError extends NeedsCyrusClientError {
  override name = 'NeedsCopybackError';
  constructor(readonly mailbox: string, detail: string) {
    super(`${mailbox}: replica disagrees after a fresh retry (${detail}); only a copyback from the replica can reconcile it`);
  }
}

export interface FolderSyncOptions {
  /** User sync: delete replica folders whose local entry is a tombstone. */
  deleteRemote?: boolean;
  /** Trust the sync cache for the replica state (rolling mode; never for user syncs or resyncs). */
  useCache?: boolean;
  /** Replica folders already known (from GET USER); otherwise GET MAILBOXES is sent. */
  replicaFolders?: ReplicaMailbox[];
}

/** Syncs the named mailboxes (internal names). Throws SyncProtocolError / NeedsCopybackError on failure. */
export async function syncMailboxes(session: ReplicaSession, names: readonly string[], o: FolderSyncOptions = {}): Promise<void> {
  let replicaFolders = o.replicaFolders;
  for (let round = 0; round < MAX_RENAME_ROUNDS; round++) {
    // Point lookups under the lock, as Cyrus does: reading the whole of a large server's
    // mailboxes.db again after every change to it would cost more than the sync.
    const { masters, queryNames } = await session.mboxlist((ml) => masterFolders(ml, names));
    const cached = o.useCache && round === 0 && !o.replicaFolders ? fromCache(session, masters) : null;
    replicaFolders ??= cached ?? (await fetchReplica(session, queryNames));
    const byUniqueId = new Map(replicaFolders.filter((r) => r.uniqueid).map((r) => [r.uniqueid, r]));
    if (await renameMoved(session, masters, byUniqueId)) {
      replicaFolders = undefined;
      if (o.replicaFolders) replicaFolders = undefined;
      continue;
    }
    if (o.deleteRemote) await deleteUnmatched(session, masters, replicaFolders);
    const knownReplicaNames = replicaFolders.map((r) => r.name);
    for (const entry of masters) {
      if (entry.mbtype.intermediate) {
        await syncIntermediate(session, entry, byUniqueId.get(entry.uniqueid ?? ''));
        continue;
      }
      await syncOneFolder(session, entry.name, byUniqueId.get(entry.uniqueid ?? '') ?? null, knownReplicaNames, cached !== null);
    }
    return;
  }
  throw new SyncProtocolError('IMAP_SYNC_CHANGED', `renames of ${names.join(', ')} did not settle after ${MAX_RENAME_ROUNDS} rounds`);
}

/** The live (or intermediate) local entries for the names, plus former names to look for on the replica. */
function masterFolders(mboxlist: Mboxlist, names: readonly string[]): { masters: MbEntry[]; queryNames: string[] } {
  const masters: MbEntry[] = [];
  const query = new Set<string>();
  const seen = new Set<string>();
  for (const name of names) {
    query.add(name);
    const entry = mboxlist.lookup(name);
    if (!entry || entry.mbtype.deleted || entry.mbtype.reserve || !entry.uniqueid) continue;
    if (seen.has(entry.uniqueid)) continue;
    seen.add(entry.uniqueid);
    masters.push(entry);
    for (const former of mboxlist.byUniqueId(entry.uniqueid)?.history ?? []) query.add(former.name);
  }
  return { masters, queryNames: [...query] };
}

async function fetchReplica(session: ReplicaSession, names: string[]): Promise<ReplicaMailbox[]> {
  if (names.length === 0) return [];
  const items = await session.replica.getMailboxes(names);
  const states = items.filter((i) => i.name === 'MAILBOX').map((i) => decodeReplicaMailbox(i.value));
  for (const st of states) session.cache?.verified(st);
  return states;
}

/** Every live folder's state from the cache, or null if any is missing (then one GET for all). */
function fromCache(session: ReplicaSession, masters: MbEntry[]): ReplicaMailbox[] | null {
  if (!session.cache || masters.length === 0) return null;
  const out: ReplicaMailbox[] = [];
  for (const m of masters) {
    const st = session.cache.get(m.name);
    if (!st || st.uniqueid !== m.uniqueid) return null;
    out.push(st);
  }
  return out;
}

/** APPLY RENAME for folders whose replica copy has another name or partition; true if any was sent. */
async function renameMoved(session: ReplicaSession, masters: MbEntry[], byUniqueId: Map<string, ReplicaMailbox>): Promise<boolean> {
  let renamed = false;
  for (const entry of masters) {
    const remote = byUniqueId.get(entry.uniqueid ?? '');
    if (!remote || entry.mbtype.intermediate) continue;
    const partition = session.options.partition ?? entry.partition ?? remote.partition;
    if (remote.name === entry.name && remote.partition === partition) continue;
    session.log('info', `RENAME ${remote.name} -> ${entry.name}`);
    session.cache?.drop(remote.name);
    session.cache?.drop(entry.name);
    await session.replica.applyRename({ oldName: remote.name, newName: entry.name, partition, uidvalidity: entry.uidvalidity || undefined });
    renamed = true;
  }
  return renamed;
}

async function deleteUnmatched(session: ReplicaSession, masters: MbEntry[], replica: ReplicaMailbox[]): Promise<void> {
  const local = new Set(masters.map((m) => m.uniqueid));
  const unmatched = replica.filter((r) => !local.has(r.uniqueid));
  if (unmatched.length === 0) return;
  const tombstoned = await session.mboxlist((ml) => new Set(unmatched.filter((r) => ml.lookup(r.name)?.mbtype.deleted).map((r) => r.name)));
  for (const remote of unmatched) {
    if (tombstoned.has(remote.name)) {
      session.cache?.drop(remote.name);
      await session.replica.applyUnmailbox(remote.name);
    } else {
      session.log('notice', `SYNCNOTICE: attempt to UNMAILBOX without a tombstone: mailbox=<${remote.name}>`);
    }
  }
}

async function syncIntermediate(session: ReplicaSession, entry: MbEntry, remote: ReplicaMailbox | undefined): Promise<void> {
  if (remote && remote.mbtype.includes('i') && remote.foldermodseq === entry.foldermodseq) return;
  await session.replica.applyMailbox(intermediateDlist({
    uniqueid: entry.uniqueid!, name: entry.name, createdmodseq: entry.createdmodseq, foldermodseq: entry.foldermodseq,
  }));
}

/**
 * Under reverseacls the replica moves an INBOX's RACLMODSEQ itself when it
 * applies ACL changes, so a cached value that differs from the master's may
 * be stale; is_unchanged needs the replica's own (stock always asks), and it
 * skips the comparison when the replica has none.
 */
function raclInDoubt(session: ReplicaSession, s: MailboxSnapshot, remote: ReplicaMailbox): boolean {
  return session.config.reverseAcls && s.raclmodseq !== 0n && remote.raclmodseq !== s.raclmodseq;
}

/** A CHECKSUM or CHANGED answer: the replica's state is not the one the APPLY was computed against. */
function isSyncMismatch(err: unknown): err is SyncProtocolError {
  return err instanceof SyncProtocolError && (err.code === 'IMAP_SYNC_CHECKSUM' || err.code === 'IMAP_SYNC_CHANGED');
}

/** update_mailbox_once plus stock's first retry (fresh state, no SINCE_*); a stale cached state first gets stock's first attempt. */
async function syncOneFolder(session: ReplicaSession, name: string, remote: ReplicaMailbox | null, replicaNames: string[], fromCache: boolean): Promise<void> {
  try {
    await updateOnce(session, name, remote, replicaNames, true, fromCache);
  } catch (first) {
    session.cache?.drop(name);
    if (!isSyncMismatch(first)) throw first;
    let err = first;
    if (fromCache && err.code === 'IMAP_SYNC_CHANGED') {
      // The replica moved past our cached state (another client ran, or the cache outlived a restart):
      // what stock does first, against the replica's own state. Only if that fails too is the mailbox
      // read whole: a million-message INBOX would otherwise be decoded because a cache was stale.
      const [current] = await fetchReplica(session, [name]);
      try {
        await updateOnce(session, name, current ?? null, replicaNames, true);
        return;
      } catch (again) {
        session.cache?.drop(name);
        if (!isSyncMismatch(again)) throw again;
        err = again;
      }
    }
    session.log('notice', `${name}: ${err.code}, recalculating and trying again`);
    const [fresh] = await fetchReplica(session, [name]);
    try {
      await updateOnce(session, name, fresh ?? null, replicaNames, false);
    } catch (again) {
      session.cache?.drop(name);
      if (again instanceof SyncProtocolError && again.code === 'IMAP_SYNC_CHECKSUM' && !session.options.noCopyback) {
        throw new NeedsCopybackError(name, again.code);
      }
      throw again;
    }
  }
}

async function updateOnce(
  session: ReplicaSession,
  name: string,
  remote: ReplicaMailbox | null,
  replicaNames: string[],
  firstAttempt: boolean,
  remoteFromCache = false,
): Promise<void> {
  // Against a replica state, only records changed since it are read (a large INBOX's index is not copied for an APPEND).
  const scope: IndexScope | undefined = firstAttempt && remote && remote.highestModseq !== 0n ? { modseq: remote.highestModseq, uid: remote.lastUid } : undefined;
  let handle = await snapshotOf(session, name, scope);
  if (!handle) return;
  try {
    let s = handle.snapshot;
    // A retry follows a CHECKSUM or CHANGED answer: the stored CRCs may be what is wrong.
    if (!firstAttempt) recomputeSyncCrcs(s);
    if (remote && remote.uniqueid !== s.uniqueid) remote = null; // same name, other mailbox: the replica will say MOVED
    if (remoteFromCache && remote && raclInDoubt(session, s, remote)) remote = (await fetchReplica(session, [name]))[0] ?? null;
    if (!scopeCovers(scope, s, remote)) {
      handle.release();
      const whole = await snapshotOf(session, name, undefined);
      if (!whole) return;
      handle = whole;
      s = handle.snapshot;
      if (remote && remote.uniqueid !== s.uniqueid) remote = null;
    }
    if (isUnchanged(s, remote, { reverseAcls: session.config.reverseAcls })) return;
    const partition = session.options.partition ?? s.entry.partition ?? 'default';
    const files = await uploadsFor(session, s, remote, partition, replicaNames);
    // MESSAGE and MAILBOX go out in one flight. If an upload fails on our side
    // the connection is dropped before the MAILBOX that needs it is written;
    // if the replica may fail to store one, we wait for its answer (upload-pipelining.ts).
    const confirm = session.options.confirmUploads || !session.uploads.mayPipeline();
    await takeUploads(session.caps, files.map((f) => f.size));
    const uploads = sendUploads(session, files, !confirm);
    for (const f of files) session.markStaged(partition, f.guidHex);
    if (uploads.length && confirm) {
      try {
        await Promise.all(uploads);
      } catch (err) {
        for (const f of files) session.unmarkStaged(partition, f.guidHex);
        throw err;
      }
    }
    const since = firstAttempt && remote && remote.highestModseq !== 0n
      ? { modseq: remote.highestModseq, crc: remote.syncCrc, crcAnnot: remote.syncCrcAnnot }
      : null;
    const uidvalidity = Math.max(s.index.uidvalidity, remote?.uidvalidity ?? 0);
    const applied = session.replica.applyMailbox(mailboxDlist(s, {
      partition,
      recordsAbove: remote ? remote.highestModseq : null,
      since,
      uidvalidity,
    }));
    try {
      await Promise.all([...uploads, applied]);
    } catch (err) {
      for (const f of files) session.unmarkStaged(partition, f.guidHex);
      throw err;
    }
    session.cache?.applied(replicaStateAfterApply(s, partition, uidvalidity, remote));
  } finally {
    handle.release();
  }
}

/** The mailbox's snapshot, namelock kept; null when it is gone since the log line was written (UNMAILBOX / RENAME handle that). */
async function snapshotOf(session: ReplicaSession, name: string, scope: IndexScope | undefined): Promise<SnapshotHandle | null> {
  try {
    return await takeMailboxSnapshot(session.config, name, { keepNamelock: true, memos: session.dbMemos, headers: session.headerMemo, signal: session.options.stopSignal, scope });
  } catch (err) {
    if (err instanceof MailboxUnavailableError) return null;
    throw err;
  }
}

/** Whether a snapshot read with `scope` answers everything an update against `remote` asks of it. */
function scopeCovers(scope: IndexScope | undefined, s: MailboxSnapshot, remote: ReplicaMailbox | null): boolean {
  if (!scope) return true;
  return remote !== null && remote.highestModseq >= scope.modseq && remote.lastUid >= scope.uid && storedSyncCrcsUsable(s.index);
}

/**
 * APPLY MESSAGE in stock's chunks. A refusal suspends the one-flight path;
 * so does the replica closing the connection with a pipelined upload
 * unanswered, since its abort() can take its unflushed refusal down with it.
 */
function sendUploads(session: ReplicaSession, files: readonly UploadFile[], pipelined: boolean): Array<Promise<void>> {
  const uploads: Array<Promise<void>> = [];
  for (let i = 0; i < files.length; i += FILES_PER_MESSAGE) {
    uploads.push(session.replica.applyMessage(files.slice(i, i + FILES_PER_MESSAGE)).catch((err: unknown) => {
      const refused = err instanceof SyncProtocolError && !isConnectionError(err);
      const crashed = pipelined && isConnectionError(err) && session.replica.connection.closedByReplica;
      if ((refused || crashed) && session.uploads.refused()) {
        const what = refused ? `the replica refused an upload (${(err as Error).message})` : 'the replica closed the connection with an upload unanswered';
        session.log('warning', `${what}; confirming each upload before APPLY MAILBOX for ${SUSPEND_MS / 60_000} min, as a 3.6.1 replica that failed to store a message abort()s on the APPLY MAILBOX naming it`);
      }
      throw err;
    }));
  }
  return uploads;
}

/** Skipping RESERVE sends at most this many thresholds' worth of bytes (1 MiB by default). */
const RESERVE_BATCH_FACTOR = 16;

interface UploadFile extends DFile {
  guidHex: string;
}

/** File literals for records the replica lacks (UID above its LAST_UID), minus what it already holds. */
async function uploadsFor(
  session: ReplicaSession,
  s: MailboxSnapshot,
  remote: ReplicaMailbox | null,
  partition: string,
  replicaNames: string[],
): Promise<UploadFile[]> {
  const fromUid = remote?.lastUid ?? 0;
  const wanted = new Map<string, { path: string; size: number }>();
  for (const r of s.recordsAboveUid(fromUid)) {
    if (isUnlinked(r) || !r.file) continue;
    if (session.isStaged(partition, r.guid) || wanted.has(r.guid)) continue;
    wanted.set(r.guid, { path: r.file, size: r.size });
  }
  if (wanted.size === 0) return [];
  let missing = new Set(wanted.keys());
  // As stock: only ask when the replica has folders we know of; a new user has nothing to find.
  // A few small messages are cheaper to send than to ask about (one round trip, and the
  // replica opening every folder named); a bulk copy or move of many is not.
  const threshold = session.options.reserveThreshold;
  let total = 0;
  let small = true;
  for (const f of wanted.values()) {
    total += f.size;
    if (f.size >= threshold) small = false;
  }
  if (replicaNames.length > 0 && !(small && total < threshold * RESERVE_BATCH_FACTOR)) {
    missing = new Set(await session.replica.applyReserve(partition, replicaNames, [...wanted.keys()]));
  }
  const out: UploadFile[] = [];
  for (const [guid, f] of wanted) {
    if (!missing.has(guid)) {
      session.markStaged(partition, guid);
      continue;
    }
    out.push(Object.assign(file(partition, guid, f.size, { path: f.path }), { guidHex: guid }));
  }
  return out;
}
