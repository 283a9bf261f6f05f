/**
 * What the replica says a mailbox looks like (a `* MAILBOX %(…)` item from
 * GET MAILBOXES / GET USER, or a sync-cache entry), decoded into plain
 * values, and stock's is_unchanged comparison against a master snapshot.
 * Keys this client does not use are ignored, as Cyrus' dlist_get* readers
 * do: a 3.12 replica adds USERFLAGS (the mailbox's defined user-flag names)
 * and USERGROUPS (a TAB-joined atom), neither of which is_unchanged compares.
 * Pure.
 */
import type { Node } from '../dlist/index.js';
import { type MailboxSnapshot, syncMbType } from '../cyrus/index.js';
import { optionLetters, snapshotSyncCrcs } from './mailbox-dlist.js';

export interface ReplicaAnnotation {
  entry: string;
  userid: string;
  /** Binary string. */
  value: string;
}

export interface ReplicaMailbox {
  uniqueid: string;
  /** Internal name. */
  name: string;
  /** MBOXTYPE letters; '' for plain email. */
  mbtype: string;
  syncCrc: number;
  syncCrcAnnot: number;
  lastUid: number;
  highestModseq: bigint;
  recentUid: number;
  recentTime: number;
  lastAppendDate: number;
  pop3LastLogin: number;
  pop3ShowAfter: number;
  uidvalidity: number;
  partition: string;
  acl: string;
  options: string;
  foldermodseq: bigint | null;
  /** XCONVMODSEQ; 0 when the replica sent none. */
  xconvmodseq: bigint;
  /**
   * RACLMODSEQ; 0 when the replica sent none. null in a cache entry when we
   * never learnt it (the replica keeps its own until we send one).
   */
  raclmodseq: bigint | null;
  annotations: ReplicaAnnotation[];
}

const n = (node: Node, key: string): number => node.get(key)?.asNumber() ?? 0;
const big = (node: Node, key: string): bigint => node.get(key)?.asBigInt() ?? 0n;
const s = (node: Node, key: string): string => node.get(key)?.asString() ?? '';
const bin = (node: Node, key: string): string => node.get(key)?.asBinary() ?? '';

export function decodeReplicaMailbox(node: Node): ReplicaMailbox {
  const annotations = (node.get('ANNOTATIONS')?.asList() ?? []).map((a) => ({
    entry: s(a, 'ENTRY'),
    userid: s(a, 'USERID'),
    value: bin(a, 'VALUE'),
  }));
  return {
    uniqueid: s(node, 'UNIQUEID'),
    name: s(node, 'MBOXNAME'),
    mbtype: s(node, 'MBOXTYPE'),
    syncCrc: n(node, 'SYNC_CRC'),
    syncCrcAnnot: n(node, 'SYNC_CRC_ANNOT'),
    lastUid: n(node, 'LAST_UID'),
    highestModseq: big(node, 'HIGHESTMODSEQ'),
    recentUid: n(node, 'RECENTUID'),
    recentTime: n(node, 'RECENTTIME'),
    lastAppendDate: n(node, 'LAST_APPENDDATE'),
    pop3LastLogin: n(node, 'POP3_LAST_LOGIN'),
    pop3ShowAfter: n(node, 'POP3_SHOW_AFTER'),
    uidvalidity: n(node, 'UIDVALIDITY'),
    partition: s(node, 'PARTITION'),
    acl: s(node, 'ACL'),
    options: s(node, 'OPTIONS'),
    foldermodseq: node.has('FOLDERMODSEQ') ? big(node, 'FOLDERMODSEQ') : null,
    xconvmodseq: big(node, 'XCONVMODSEQ'),
    raclmodseq: big(node, 'RACLMODSEQ'),
    annotations,
  };
}

/**
 * 3.12's USERFLAGS: every defined user-flag name of the mailbox in slot
 * order, unused slots left out; null when the replica sent none (before 3.12).
 */
export function replicaUserFlags(node: Node): string[] | null {
  if (!node.has('USERFLAGS')) return null;
  return (node.get('USERFLAGS')?.asList() ?? []).map((f) => f.asString() ?? '').filter((f) => f !== '');
}

/**
 * sync_client's is_unchanged: nothing to send when every compared field and
 * both CRCs agree. LAST_APPENDDATE and QUOTAROOT are deliberately not compared;
 * a zero FOLDERMODSEQ or RACLMODSEQ on either side is version skew, not a change.
 */
export function isUnchanged(master: MailboxSnapshot, replica: ReplicaMailbox | null, o: { reverseAcls?: boolean } = {}): boolean {
  if (!replica) return false;
  const idx = master.index;
  if ((syncMbType(master.entry.mbtype) ?? '') !== replica.mbtype) return false;
  if (idx.lastUid !== replica.lastUid || idx.highestmodseq !== replica.highestModseq) return false;
  if (idx.uidvalidity !== replica.uidvalidity || idx.recentuid !== replica.recentUid || idx.recenttime !== replica.recentTime) return false;
  if (idx.pop3LastLogin !== replica.pop3LastLogin || idx.pop3ShowAfter !== replica.pop3ShowAfter) return false;
  if (optionLetters(idx.options) !== replica.options) return false;
  if (replica.foldermodseq && master.entry.foldermodseq !== replica.foldermodseq) return false;
  if (master.entry.acl !== replica.acl) return false;
  if (o.reverseAcls && master.raclmodseq) {
    if (replica.raclmodseq === null) return false;
    if (replica.raclmodseq && master.raclmodseq !== replica.raclmodseq) return false;
  }
  if (master.xconvmodseq !== null && master.xconvmodseq !== replica.xconvmodseq) return false;
  const local = master.mailboxAnnotations.map((a) => `${a.entry}\0${a.userid ?? ''}\0${a.value.toString('latin1')}`).sort();
  const remote = replica.annotations.map((a) => `${a.entry}\0${a.userid}\0${a.value}`).sort();
  if (local.join('\x01') !== remote.join('\x01')) return false;
  const crcs = snapshotSyncCrcs(master);
  return crcs.basic === replica.syncCrc && crcs.annot === replica.syncCrcAnnot;
}

/**
 * What the replica holds once an APPLY MAILBOX of this snapshot succeeded
 * (for the sync cache). Without a RACLMODSEQ from us the replica keeps the
 * value it had (`previous`, when known).
 */
export function replicaStateAfterApply(s: MailboxSnapshot, partition: string, uidvalidity: number, previous: ReplicaMailbox | null = null): ReplicaMailbox {
  const idx = s.index;
  const crcs = snapshotSyncCrcs(s);
  return {
    uniqueid: s.uniqueid ?? '',
    name: s.name,
    mbtype: syncMbType(s.entry.mbtype) ?? '',
    syncCrc: crcs.basic,
    syncCrcAnnot: crcs.annot,
    lastUid: idx.lastUid,
    highestModseq: idx.highestmodseq,
    recentUid: idx.recentuid,
    recentTime: idx.recenttime,
    lastAppendDate: idx.lastAppenddate,
    pop3LastLogin: idx.pop3LastLogin,
    pop3ShowAfter: idx.pop3ShowAfter,
    uidvalidity,
    partition,
    acl: s.entry.acl,
    options: optionLetters(idx.options),
    foldermodseq: s.entry.foldermodseq !== 0n ? s.entry.foldermodseq : null,
    xconvmodseq: s.xconvmodseq ?? 0n,
    raclmodseq: s.raclmodseq ? s.raclmodseq : (previous?.raclmodseq ?? null),
    annotations: s.mailboxAnnotations.map((a) => ({ entry: a.entry, userid: a.userid ?? '', value: a.value.toString('latin1') })),
  };
}
