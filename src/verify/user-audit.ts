/**
 * The read-only comparison of one user (or the shared mailboxes) between the
 * master's store and the replica's GET USER / GET MAILBOXES answers: the
 * same objects and the same equality tests a whole-user sync uses
 * (user-sync.ts, mailbox-sync.ts, replica-mailbox.ts' isUnchanged), but
 * collecting differences instead of sending APPLYs. Mailboxes are matched
 * by uniqueid, then checked by name, MBOXTYPE, LAST_UID, HIGHESTMODSEQ,
 * UIDVALIDITY, ACL, OPTIONS, mailbox annotations and both SYNC_CRCs (the
 * master's from its index, recomputed as the engine does for old indexes);
 * then quota roots, subscriptions and seen state. Sieve is the user's
 * #sieve mailbox in 3.6+: compared as a mailbox when the replica lists it,
 * else through the replica's SIEVE items (compareSieveScripts).
 */
import {
  Mboxlist,
  type MbEntry,
  type CyrusConfig,
  syncMbType,
  userInbox,
  readQuota,
  readSeenFile,
  seenPath,
  readSubscriptionsFile,
  subsPath,
  FLAG,
  isExpunged,
  MailboxUnavailableError,
  takeMailboxSnapshot,
  type MailboxSnapshot,
} from '../cyrus/index.js';
import type { Keyed } from '../dlist/index.js';
import {
  optionLetters,
  snapshotSyncCrcs,
  quotaDiffers,
  replicaQuotaLimits,
  type QuotaLimits,
  decodeReplicaMailbox,
  isUnchanged,
  type ReplicaMailbox,
  seenDiffers,
  type SeenState,
} from '../engine/index.js';
import type { ReplicaClient } from '../protocol/index.js';
import type { Divergence } from './divergence.js';

export interface AuditContext {
  config: CyrusConfig;
  replica: ReplicaClient;
}

/** Every difference between the master's and the replica's copy of the user. */
export async function auditUser(ctx: AuditContext, userid: string): Promise<Divergence[]> {
  const { config } = ctx;
  const local = await Mboxlist.query(config, (ml) => {
    if (!ml.find(userInbox(userid, config))) return null;
    return {
      entries: liveEntries([...ml.userTree(userid, { deleted: true })]),
      subs: subsPath(config, ml, userid),
      seen: seenPath(config, ml, userid),
    };
  });
  const remote = await ctx.replica.getUser(userid);
  const folders = mailboxesOf(remote);
  const out: Divergence[] = [];
  if (!local) {
    if (folders.length) out.push({ user: userid, kind: 'user-only-on-replica', object: userInbox(userid, config), detail: `no INBOX on the master, ${folders.length} mailbox(es) on the replica` });
    return out;
  }
  const listed = new Set(folders.map((f) => f.uniqueid));
  const hiddenSieve = local.entries.filter((e) => e.mbtype.kind === 'sieve' && !listed.has(e.uniqueid!));
  const roots = await compareMailboxes(config, userid, local.entries.filter((e) => !hiddenSieve.includes(e)), folders, out);
  for (const entry of hiddenSieve) await compareSieveScripts(config, userid, entry, remote, out);
  compareQuotas(config, userid, roots, remote, out);
  await compareSubscriptions(config, userid, local.subs, remote, out);
  await compareSeen(userid, local.seen, remote, out);
  return out;
}

/** Shared (non-user) mailboxes, named by the caller, through GET MAILBOXES. */
export async function auditMailboxes(ctx: AuditContext, owner: string, names: readonly string[]): Promise<Divergence[]> {
  if (names.length === 0) return [];
  const entries = await Mboxlist.query(ctx.config, (ml) => liveEntries(names.map((n) => ml.lookup(n)).filter((e): e is MbEntry => !!e)));
  const folders = mailboxesOf(await ctx.replica.getMailboxes(names));
  const out: Divergence[] = [];
  await compareMailboxes(ctx.config, owner, entries, folders, out);
  return out;
}

/**
 * A #sieve mailbox the replica hides (it lists it only after SIEVE-MAILBOX
 * was enabled, an APPLY an audit does not send) is compared with the
 * replica's SIEVE items instead: as many `<name>.script` files as live
 * scripts (messages) on the master, and an active one exactly when the
 * master flags one (\\Flagged marks the active script). Script contents
 * are not compared this way.
 */
async function compareSieveScripts(config: CyrusConfig, user: string, entry: MbEntry, remote: Keyed[], out: Divergence[]): Promise<void> {
  let live = 0;
  let active = false;
  try {
    const { snapshot, release } = await takeMailboxSnapshot(config, entry.name);
    try {
      for (const r of snapshot.records) {
        if (isExpunged(r)) continue;
        live++;
        if (r.systemFlags & FLAG.FLAGGED) active = true;
      }
    } finally {
      release();
    }
  } catch (err) {
    if (err instanceof MailboxUnavailableError) return;
    throw err;
  }
  const files = remote.filter((i) => i.name === 'SIEVE');
  const scripts = files.filter((i) => (i.value.get('FILENAME')?.asString() ?? '').endsWith('.script'));
  // The replica marks the active script on its bytecode (`<name>.bc`, what defaultbc points at).
  const replicaActive = files.some((i) => (i.value.get('ISACTIVE')?.asNumber() ?? 0) !== 0);
  if (scripts.length !== live) out.push({ user, kind: 'sieve', object: entry.name, detail: `${live} script(s) on the master, ${scripts.length} on the replica` });
  else if (active !== replicaActive) out.push({ user, kind: 'sieve', object: entry.name, detail: `an active script on the ${active ? 'master' : 'replica'} only` });
}

/** What a sync would replicate: no tombstones, reservations or entries without a uniqueid. */
function liveEntries(entries: MbEntry[]): MbEntry[] {
  return entries.filter((e) => !e.mbtype.deleted && !e.mbtype.reserve && !!e.uniqueid);
}

function mailboxesOf(items: Keyed[]): ReplicaMailbox[] {
  return items.filter((i) => i.name === 'MAILBOX').map((i) => decodeReplicaMailbox(i.value));
}

/** Compares folders; returns the master's quota roots seen on the way. */
async function compareMailboxes(config: CyrusConfig, user: string, entries: MbEntry[], folders: ReplicaMailbox[], out: Divergence[]): Promise<Set<string>> {
  const byUniqueId = new Map(folders.map((f) => [f.uniqueid, f]));
  const roots = new Set<string>();
  for (const entry of entries) {
    const remote = byUniqueId.get(entry.uniqueid!);
    byUniqueId.delete(entry.uniqueid!);
    // Intermediates carry no messages; the engine only keeps their existence in step.
    if (entry.mbtype.intermediate) continue;
    if (!remote) {
      out.push({ user, kind: 'mailbox-missing', object: entry.name, detail: `uniqueid ${entry.uniqueid} is not on the replica` });
      continue;
    }
    if (remote.name !== entry.name) out.push({ user, kind: 'mailbox-renamed', object: entry.name, detail: `the replica has uniqueid ${entry.uniqueid} as ${remote.name}` });
    let snapshot: MailboxSnapshot;
    let release: () => void;
    try {
      ({ snapshot, release } = await takeMailboxSnapshot(config, entry.name));
    } catch (err) {
      // Deleted or renamed on the master since mailboxes.db was read: a live change, not a divergence.
      if (err instanceof MailboxUnavailableError) continue;
      throw err;
    }
    try {
      if (snapshot.header.quotaroot) roots.add(snapshot.header.quotaroot);
      const fields = mailboxFieldDiffs(snapshot, remote, config.reverseAcls);
      if (fields.length) out.push({ user, kind: 'mailbox-state', object: entry.name, detail: fields.join(', ') });
    } finally {
      release();
    }
  }
  for (const remote of byUniqueId.values()) {
    out.push({ user, kind: 'mailbox-only-on-replica', object: remote.name, detail: `uniqueid ${remote.uniqueid} has no live mailbox on the master` });
  }
  return roots;
}

/** The compared fields that differ, as `KEY master=… replica=…`; empty when a sync would send nothing. */
export function mailboxFieldDiffs(master: MailboxSnapshot, replica: ReplicaMailbox, reverseAcls: boolean): string[] {
  const idx = master.index;
  const crcs = snapshotSyncCrcs(master);
  const pairs: Array<[string, unknown, unknown]> = [
    ['MBOXTYPE', syncMbType(master.entry.mbtype) ?? '', replica.mbtype],
    ['LAST_UID', idx.lastUid, replica.lastUid],
    ['HIGHESTMODSEQ', idx.highestmodseq, replica.highestModseq],
    ['UIDVALIDITY', idx.uidvalidity, replica.uidvalidity],
    ['ACL', master.entry.acl, replica.acl],
    ['OPTIONS', optionLetters(idx.options), replica.options],
    ['ANNOTATIONS', annotationKeys(master.mailboxAnnotations.map((a) => [a.entry, a.userid ?? '', a.value.toString('latin1')])), annotationKeys(replica.annotations.map((a) => [a.entry, a.userid, a.value]))],
    ['SYNC_CRC', crcs.basic, replica.syncCrc],
    ['SYNC_CRC_ANNOT', crcs.annot, replica.syncCrcAnnot],
  ];
  const diffs = pairs.filter(([, m, r]) => m !== r).map(([k, m, r]) => `${k} master=${show(m)} replica=${show(r)}`);
  // Whatever else is_unchanged compares (RECENTUID, POP3 times, FOLDERMODSEQ, XCONVMODSEQ, RACLMODSEQ).
  if (diffs.length === 0 && !isUnchanged(master, replica, { reverseAcls })) diffs.push('other mailbox state (RECENTUID, POP3, FOLDERMODSEQ, XCONVMODSEQ or RACLMODSEQ)');
  return diffs;
}

/**
 * Mailbox annotations as a comparable text in IMAP's terms (Cyrus keeps
 * `/comment` with an empty userid for /shared, with the owner for /private):
 * entry and value length only, so a report never prints stored values.
 */
function annotationKeys(list: Array<[string, string, string]>): string {
  return list.map(([entry, userid, value]) => `${userid ? `/private${entry}[${userid}]` : `/shared${entry}`}=${value.length}B`).sort().join(' ') || '(none)';
}

function show(v: unknown): string {
  const text = String(v);
  return text === '' ? '""' : text.length > 120 ? `${text.slice(0, 117)}...` : text;
}

function compareQuotas(config: CyrusConfig, user: string, roots: Set<string>, remote: Keyed[], out: Divergence[]): void {
  const remoteRoots = new Map<string, QuotaLimits>();
  for (const item of remote) if (item.name === 'QUOTA') remoteRoots.set(item.value.get('ROOT')?.asString() ?? '', replicaQuotaLimits(item.value));
  for (const root of roots) {
    const local = readQuota(config, root);
    if (!local || !quotaDiffers(local, remoteRoots.get(root))) continue;
    const r = remoteRoots.get(root);
    out.push({ user, kind: 'quota', object: root, detail: `master ${limits(local.limits)} replica ${r ? limits(r) : '(no quota root)'}` });
  }
  for (const root of remoteRoots.keys()) {
    if (!roots.has(root) && !readQuota(config, root)) out.push({ user, kind: 'quota', object: root, detail: 'quota root only on the replica' });
  }
}

function limits(l: QuotaLimits): string {
  return Object.entries(l).filter(([, v]) => v !== null && v >= 0n).map(([k, v]) => `${k}=${v}`).join(' ') || '(unlimited)';
}

async function compareSubscriptions(config: CyrusConfig, user: string, file: string, remote: Keyed[], out: Divergence[]): Promise<void> {
  const local = new Set(await readSubscriptionsFile(config, file, user));
  const lsub = remote.find((i) => i.name === 'LSUB');
  const replica = new Set((lsub?.value.asList() ?? []).map((n) => n.asString() ?? ''));
  for (const name of local) if (!replica.has(name)) out.push({ user, kind: 'subscription', object: name, detail: 'subscribed on the master only' });
  for (const name of replica) if (!local.has(name)) out.push({ user, kind: 'subscription', object: name, detail: 'subscribed on the replica only' });
}

async function compareSeen(user: string, file: string, remote: Keyed[], out: Divergence[]): Promise<void> {
  const replica = new Map<string, SeenState>();
  for (const item of remote) {
    if (item.name !== 'SEEN') continue;
    const v = item.value;
    replica.set(v.get('UNIQUEID')?.asString() ?? '', {
      lastread: v.get('LASTREAD')?.asNumber() ?? 0,
      lastuid: v.get('LASTUID')?.asNumber() ?? 0,
      lastchange: v.get('LASTCHANGE')?.asNumber() ?? 0,
      seenuids: v.get('SEENUIDS')?.asString() ?? '',
    });
  }
  for (const entry of await readSeenFile(file)) {
    const r = replica.get(entry.uniqueid);
    if (!seenDiffers(entry, r)) continue;
    out.push({ user, kind: 'seen', object: entry.uniqueid, detail: r ? `master seen=${show(entry.seenuids)} replica seen=${show(r.seenuids)}` : 'no seen state on the replica' });
  }
}
