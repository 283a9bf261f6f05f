/**
 * The MAILBOX and RECORD kvlists of APPLY MAILBOX, built from a master
 * snapshot exactly in sync_prepare_dlists' wire order (sync-protocol.md
 * §5.3–5.4). Pure: the snapshot comes in, a DLIST tree goes out; which
 * records to include and what the replica already has are the caller's.
 */
import { atom, bytes, flag, hex64, kvlist, list, type DKvList, type Node } from '../dlist/index.js';
import {
  IMAP_ANNOT_NS,
  type Annotation,
  FLAG,
  hasUserFlag,
  isExpunged,
  OPT,
  type IndexHeader,
  type IndexRecord,
  syncMbType,
  type MailboxSnapshot,
  computeSyncCrcs,
  type SyncCrcs,
} from '../cyrus/index.js';


/** The replica state a delta is computed against (SINCE_*). */
export interface Since {
  modseq: bigint;
  crc: number;
  crcAnnot: number;
}

export interface MailboxDlistOptions {
  /** Destination partition (-p), else the local one. */
  partition?: string;
  /** Only records with MODSEQ above this; null sends every record. */
  recordsAbove: bigint | null;
  /** First attempt against a known replica state: SINCE_* keys. */
  since?: Since | null;
  /** UIDVALIDITY to send (a higher replica value is adopted by the caller). */
  uidvalidity?: number;
}

/** The mailbox-level fields of sync_prepare_dlists, without RECORD. */
export function mailboxFields(s: MailboxSnapshot, o: MailboxDlistOptions): Array<[string, Node | string | number | bigint | undefined]> {
  const crcs = snapshotSyncCrcs(s);
  const idx = s.index;
  const mbtype = syncMbType(s.entry.mbtype);
  return [
    ['UNIQUEID', s.uniqueid ?? ''],
    ['MBOXNAME', atom(s.name)],
    ['MBOXTYPE', mbtype ?? undefined],
    ['SYNC_CRC', crcs.basic],
    ['SYNC_CRC_ANNOT', crcs.annot],
    ['LAST_UID', idx.lastUid],
    ['HIGHESTMODSEQ', idx.highestmodseq],
    ['RECENTUID', idx.recentuid],
    ['RECENTTIME', idx.recenttime],
    ['LAST_APPENDDATE', idx.lastAppenddate],
    ['POP3_LAST_LOGIN', idx.pop3LastLogin],
    ['POP3_SHOW_AFTER', idx.pop3ShowAfter],
    ['XCONVMODSEQ', s.xconvmodseq ? s.xconvmodseq : undefined],
    ['RACLMODSEQ', s.raclmodseq ? s.raclmodseq : undefined],
    ['UIDVALIDITY', o.uidvalidity ?? idx.uidvalidity],
    ['PARTITION', o.partition ?? s.entry.partition ?? ''],
    ['ACL', atom(s.entry.acl)],
    ['OPTIONS', optionLetters(idx.options)],
    ['QUOTAROOT', s.header.quotaroot ? atom(s.header.quotaroot) : undefined],
    ['CREATEDMODSEQ', s.entry.createdmodseq !== 0n ? s.entry.createdmodseq : undefined],
    ['FOLDERMODSEQ', s.entry.foldermodseq !== 0n ? s.entry.foldermodseq : undefined],
    ['ANNOTATIONS', s.mailboxAnnotations.length ? list(s.mailboxAnnotations.map(mailboxAnnotationKv)) : undefined],
  ];
}

export function mailboxDlist(s: MailboxSnapshot, o: MailboxDlistOptions): DKvList {
  const fields = mailboxFields(s, o);
  if (o.since) {
    fields.push(['SINCE_MODSEQ', o.since.modseq], ['SINCE_CRC', o.since.crc], ['SINCE_CRC_ANNOT', o.since.crcAnnot]);
  }
  const records = o.recordsAbove === null ? s.records : s.recordsModifiedSince(o.recordsAbove);
  fields.push(['RECORD', list(records.map((r) => recordDlist(s, r)))]);
  return kvlist(fields);
}

/** Stub APPLY MAILBOX for an intermediate folder (MBTYPE_INTERMEDIATE). */
export function intermediateDlist(e: { uniqueid: string; name: string; createdmodseq: bigint; foldermodseq: bigint }): DKvList {
  return kvlist([
    ['UNIQUEID', e.uniqueid],
    ['MBOXNAME', atom(e.name)],
    ['MBOXTYPE', 'ei'],
    ['HIGHESTMODSEQ', e.foldermodseq],
    ['CREATEDMODSEQ', e.createdmodseq],
    ['FOLDERMODSEQ', e.foldermodseq],
  ]);
}

export function optionLetters(options: number): string {
  let out = '';
  if (options & OPT.POP3_NEW_UIDL) out += 'P';
  if (options & OPT.IMAP_SHAREDSEEN) out += 'S';
  if (options & OPT.IMAP_DUPDELIVER) out += 'D';
  if (options & OPT.IMAP_HAS_ALARMS) out += 'A';
  return out;
}

export function recordDlist(s: MailboxSnapshot, r: IndexRecord): DKvList {
  const annotations = [
    ...(s.messageAnnotations.get(r.uid) ?? []).map(messageAnnotationKv),
    ...virtualAnnotations(r, s.index.minorVersion),
  ];
  return kvlist([
    ['UID', r.uid],
    ['MODSEQ', r.modseq],
    ['LAST_UPDATED', r.lastUpdated],
    ['FLAGS', list(recordFlags(r, s.userFlags).map(flag))],
    ['INTERNALDATE', r.internaldate],
    ['SIZE', r.size],
    ['GUID', r.guid],
    ['ANNOTATIONS', annotations.length ? list(annotations) : undefined],
  ]);
}

/** System flags in Cyrus's order, then \Expunged, then \Seen, then user flags by slot. */
export function recordFlags(r: IndexRecord, userFlags: ReadonlyArray<string | null>): string[] {
  const out: string[] = [];
  if (r.systemFlags & FLAG.DELETED) out.push('\\Deleted');
  if (r.systemFlags & FLAG.ANSWERED) out.push('\\Answered');
  if (r.systemFlags & FLAG.FLAGGED) out.push('\\Flagged');
  if (r.systemFlags & FLAG.DRAFT) out.push('\\Draft');
  if (isExpunged(r)) out.push('\\Expunged');
  if (r.systemFlags & FLAG.SEEN) out.push('\\Seen');
  for (let slot = 0; slot < userFlags.length; slot++) {
    const name = userFlags[slot];
    if (name && hasUserFlag(r, slot)) out.push(name);
  }
  return out;
}

function virtualAnnotations(r: IndexRecord, minorVersion: number): DKvList[] {
  const out: DKvList[] = [];
  const v = (name: string, value: Node | string) =>
    out.push(kvlist([['ENTRY', IMAP_ANNOT_NS + name], ['USERID', ''], ['MODSEQ', 0], ['VALUE', value]]));
  if (r.cid !== 0n && minorVersion >= 13) v('thrid', hex64(r.cid));
  if (r.savedate !== 0 && minorVersion >= 15) v('savedate', String(r.savedate));
  if (r.createdmodseq !== 0n && minorVersion >= 16) v('createdmodseq', r.createdmodseq.toString());
  return out;
}

function messageAnnotationKv(a: Annotation): DKvList {
  return kvlist([
    ['ENTRY', atom(a.entry)],
    ['USERID', atom(a.userid ?? '')],
    ['MODSEQ', a.modseq],
    ['VALUE', bytes(a.value)],
  ]);
}

function mailboxAnnotationKv(a: Annotation): DKvList {
  return kvlist([
    ['ENTRY', atom(a.entry)],
    ['USERID', atom(a.userid ?? '')],
    ['MODSEQ', a.modseq],
    ['VALUE', bytes(a.value)],
  ]);
}

const crcsBySnapshot = new WeakMap<MailboxSnapshot, SyncCrcs>();

/**
 * The snapshot's SYNC_CRC pair as stock's sync_client sends it: the values
 * Cyrus keeps up to date in the index header (mailbox_synccrcs without
 * force), so a large mailbox costs nothing here. Recomputed from the records
 * where the header has none (before v13, or never filled in) and after the
 * replica answered CHECKSUM (recomputeSyncCrcs). Memoised: an update needs
 * the pair for the unchanged check, the APPLY MAILBOX and the cache entry.
 */
/** Whether the index header's SYNC_CRCs can be sent as they are (else they are recomputed from every record). */
export function storedSyncCrcsUsable(idx: IndexHeader): boolean {
  return idx.minorVersion >= 13 && idx.syncCrcAnnot !== 0;
}

export function snapshotSyncCrcs(s: MailboxSnapshot): SyncCrcs {
  let crcs = crcsBySnapshot.get(s);
  if (!crcs) {
    const idx = s.index;
    crcs = storedSyncCrcsUsable(idx) ? { basic: idx.syncCrcBasic, annot: idx.syncCrcAnnot } : recomputed(s);
    crcsBySnapshot.set(s, crcs);
  }
  return crcs;
}

/** From now on the snapshot's SYNC_CRCs are recomputed from its records, as Cyrus does when forced. */
export function recomputeSyncCrcs(s: MailboxSnapshot): SyncCrcs {
  const crcs = recomputed(s);
  crcsBySnapshot.set(s, crcs);
  return crcs;
}

function recomputed(s: MailboxSnapshot): SyncCrcs {
  return computeSyncCrcs(s.records, s.userFlags, s.index.minorVersion, (uid) =>
    (s.messageAnnotations.get(uid) ?? []).map((a) => ({ entry: a.entry, userid: a.userid, value: a.value })));
}
