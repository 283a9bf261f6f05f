/**
 * Whole-user replication (stock's sync_do_user, sync-protocol.md §6.6):
 * GET USER for the replica's view, then every local mailbox of the user
 * (DELETED.* included, tombstones and intermediates not), deleting replica
 * folders that have a local tombstone, then quota roots, subscriptions and
 * seen state. A whole-user sync never trusts cached replica state.
 * mailboxes.db is read with point lookups and the user's own key range,
 * under its lock and before any round trip; the user's seen and
 * subscription DBs after that lock is released. A user whose sieve
 * directory stock would first migrate into a #sieve mailbox (a write to
 * the master) is handed to Cyrus's own sync_client (copyback.ts).
 */
import fs from 'node:fs';
import {
  type Mboxlist,
  userInbox,
  userSieveDir,
  readQuota,
  readSeenFile,
  seenPath,
  sieveMailboxName,
  readSubscriptionsFile,
  subsPath,
  takeMailboxSnapshot,
} from '../cyrus/index.js';
import type { Keyed } from '../dlist/index.js';
import { SyncProtocolError } from '../protocol/index.js';
import { NeedsCyrusClientError } from './copyback.js';
import { syncMailboxes } from './mailbox-sync.js';
import { quotaFields, quotaDiffers, replicaQuotaLimits, type QuotaLimits } from './quota-dlist.js';
import { decodeReplicaMailbox } from './replica-mailbox.js';
import type { ReplicaSession } from './session.js';
import { seenDiffers, type SeenState } from './seen-state.js';

const MAX_ROUNDS = 3;

export async function syncUser(session: ReplicaSession, userid: string): Promise<void> {
  const cfg = session.config;
  for (let round = 0; ; round++) {
    const local = await session.mboxlist((ml) => {
      const inbox = ml.find(userInbox(userid, cfg));
      if (!inbox) return null;
      return {
        names: [...ml.userTree(userid, { deleted: true })].map((e) => e.name),
        files: userFiles(cfg, ml, userid),
        unmigratedSieveDir: ml.find(sieveMailboxName(cfg, userid)) ? null : userSieveDir(cfg, userid, { uniqueid: inbox.uniqueid, legacyDirs: inbox.mbtype.legacyDirs }),
      };
    });
    if (!local) {
      session.log('info', `user ${userid} has no INBOX on the master; leaving the replica to UNUSER`);
      return;
    }
    // Stock's do_user_main migrates an existing sieve directory into a new #sieve mailbox first.
    if (local.unmigratedSieveDir && fs.existsSync(local.unmigratedSieveDir)) {
      throw new NeedsCyrusClientError(`${userid}: sieve directory ${local.unmigratedSieveDir} is not yet migrated into a ${cfg.sieveFolder} mailbox, which only Cyrus's sync_client does (it writes the master)`);
    }
    const remote = await session.replica.getUser(userid);
    const folders = remote.filter((i) => i.name === 'MAILBOX').map((i) => decodeReplicaMailbox(i.value));
    for (const f of folders) session.cache?.verified(f);
    const { names, files } = local;
    try {
      await syncMailboxes(session, names, { deleteRemote: true, replicaFolders: folders });
    } catch (err) {
      if (err instanceof SyncProtocolError && err.code === 'IMAP_SYNC_CHANGED' && round < MAX_ROUNDS - 1) continue;
      throw err;
    }
    await syncUserQuotas(session, names, remote);
    await syncSubscriptions(session, userid, files, remoteSubscriptions(remote));
    await syncSeen(session, userid, files, remote);
    session.requestRestart();
    return;
  }
}

/** GET META: seen and subscriptions only (stock's sync_do_meta). */
export async function syncMeta(session: ReplicaSession, userid: string): Promise<void> {
  const cfg = session.config;
  const files = await session.mboxlist((ml) => userFiles(cfg, ml, userid));
  const remote = await session.replica.getMeta(userid);
  await syncSubscriptions(session, userid, files, remoteSubscriptions(remote));
  await syncSeen(session, userid, files, remote);
}

/** Where the user's subscriptions and seen state live (they follow the INBOX's uniqueid). */
interface UserFiles {
  subs: string;
  seen: string;
}

function userFiles(cfg: ReplicaSession['config'], ml: Mboxlist, userid: string): UserFiles {
  return { subs: subsPath(cfg, ml, userid), seen: seenPath(cfg, ml, userid) };
}

function remoteSubscriptions(items: Keyed[]): Set<string> {
  const lsub = items.find((i) => i.name === 'LSUB');
  return new Set((lsub?.value.asList() ?? []).map((n) => n.asString() ?? ''));
}

async function syncSubscriptions(session: ReplicaSession, userid: string, files: UserFiles, remote: Set<string>): Promise<void> {
  const local = new Set(await readSubscriptionsFile(session.config, files.subs, userid));
  for (const name of local) if (!remote.has(name)) await session.replica.applySub(userid, name);
  for (const name of remote) if (!local.has(name)) await session.replica.applyUnsub(userid, name);
}

async function syncSeen(session: ReplicaSession, userid: string, files: UserFiles, remote: Keyed[]): Promise<void> {
  const replicaSeen = new Map<string, SeenState>();
  for (const item of remote) {
    if (item.name !== 'SEEN') continue;
    const v = item.value;
    replicaSeen.set(v.get('UNIQUEID')?.asString() ?? '', {
      lastread: v.get('LASTREAD')?.asNumber() ?? 0,
      lastuid: v.get('LASTUID')?.asNumber() ?? 0,
      lastchange: v.get('LASTCHANGE')?.asNumber() ?? 0,
      seenuids: v.get('SEENUIDS')?.asString() ?? '',
    });
  }
  for (const entry of await readSeenFile(files.seen)) {
    if (!seenDiffers(entry, replicaSeen.get(entry.uniqueid))) continue;
    try {
      await session.replica.applySeen({ userid, ...entry });
    } catch (err) {
      // As stock: seen errors in a user sync are logged, not fatal.
      session.log('warning', `APPLY SEEN ${userid} ${entry.uniqueid}: ${(err as Error).message}`);
    }
  }
}

async function syncUserQuotas(session: ReplicaSession, names: string[], remote: Keyed[]): Promise<void> {
  const roots = new Set<string>();
  for (const name of names) {
    try {
      const h = await takeMailboxSnapshot(session.config, name, { memos: session.dbMemos, headers: session.headerMemo, signal: session.options.stopSignal });
      if (h.snapshot.header.quotaroot) roots.add(h.snapshot.header.quotaroot);
      h.release();
    } catch {
      // a mailbox that vanished meanwhile has no quota root to offer
    }
  }
  const remoteRoots = new Map<string, QuotaLimits>();
  for (const item of remote) {
    if (item.name !== 'QUOTA') continue;
    remoteRoots.set(item.value.get('ROOT')?.asString() ?? '', replicaQuotaLimits(item.value));
  }
  for (const root of roots) {
    const local = readQuota(session.config, root);
    if (!local) continue;
    if (!quotaDiffers(local, remoteRoots.get(root))) continue;
    await session.replica.applyQuota(quotaFields(local));
  }
  for (const root of remoteRoots.keys()) {
    if (!roots.has(root) && !readQuota(session.config, root)) await session.replica.applyUnquota(root);
  }
}
