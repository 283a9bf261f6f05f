/**
 * The small per-item flows of a batch (sync-protocol.md §2.4 steps 2–6 and
 * 9): QUOTA, ANNOTATION, SEEN, SUB/UNSUB, UNMAILBOX and UNUSER. Each reads
 * the master's current state and pushes it; none needs the replica's view
 * except ANNOTATION, which diffs against GET ANNOTATION.
 */
import {
  mailboxAnnotations,
  serverAnnotations,
  type Annotation,
  queryDb,
  type DbReader,
  mailboxOwner,
  userInbox,
  readQuota,
  readSeenFile,
  seenPath,
  readSubscriptionsFile,
  subsPath,
} from '../cyrus/index.js';
import { bytes } from '../dlist/index.js';
import { quotaFields } from './quota-dlist.js';
import type { ReplicaSession } from './session.js';

export async function syncQuotaRoot(session: ReplicaSession, root: string): Promise<void> {
  const q = readQuota(session.config, root);
  if (q) await session.replica.applyQuota(quotaFields(q));
  else await session.replica.applyUnquota(root);
}

export async function syncSeenItem(session: ReplicaSession, userid: string, uniqueid: string): Promise<void> {
  // The path under mailboxes.db's lock; the seen DB itself after it is released, taking one lock at a time.
  const path = await session.mboxlist((ml) => seenPath(session.config, ml, userid));
  const entry = (await readSeenFile(path)).find((e) => e.uniqueid === uniqueid);
  if (entry) await session.replica.applySeen({ userid, ...entry });
}

export async function syncSubItem(session: ReplicaSession, userid: string, mailbox: string): Promise<void> {
  const path = await session.mboxlist((ml) => subsPath(session.config, ml, userid));
  const subscribed = (await readSubscriptionsFile(session.config, path, userid)).includes(mailbox);
  if (subscribed) await session.replica.applySub(userid, mailbox);
  else await session.replica.applyUnsub(userid, mailbox);
}

/** Only when the mailbox is gone locally and a tombstone proves it was deleted. */
export async function syncUnmailbox(session: ReplicaSession, name: string): Promise<void> {
  const entry = await session.mboxlist((ml) => ml.lookup(name));
  if (entry && !entry.mbtype.deleted) return;
  if (!entry) {
    session.log('notice', `SYNCNOTICE: attempt to UNMAILBOX without a tombstone: mailbox=<${name}>`);
    return;
  }
  await session.replica.applyUnmailbox(name);
}

export async function syncUnuser(session: ReplicaSession, userid: string): Promise<void> {
  if (await session.mboxlist((ml) => ml.find(userInbox(userid, session.config)))) return;
  await session.replica.applyUnuser(userid);
}

/** ANNOTATION m: mailbox-level (or, for "", server) annotations, diffed against GET ANNOTATION. */
export async function syncAnnotations(session: ReplicaSession, mboxname: string): Promise<void> {
  const local = await localAnnotations(session, mboxname);
  const remote = await session.replica.getAnnotation(mboxname);
  const key = (entry: string, userid: string) => `${entry}\0${userid}`;
  const remoteValues = new Map<string, string>();
  for (const item of remote) {
    if (item.name !== 'ANNOTATION') continue;
    const v = item.value;
    remoteValues.set(key(v.get('ENTRY')?.asString() ?? '', v.get('USERID')?.asString() ?? ''), v.get('VALUE')?.asBinary() ?? '');
  }
  const localKeys = new Set<string>();
  for (const a of local) {
    const userid = a.userid ?? '';
    const k = key(a.entry, userid);
    localKeys.add(k);
    if (remoteValues.get(k) === a.value.toString('latin1')) continue;
    await session.replica.applyAnnotation({ mboxname, entry: a.entry, userid, value: bytes(a.value) });
  }
  for (const k of remoteValues.keys()) {
    if (localKeys.has(k)) continue;
    const [entry = '', userid = ''] = k.split('\0');
    await session.replica.applyUnannotation({ mboxname, entry, userid });
  }
}

async function localAnnotations(session: ReplicaSession, mboxname: string): Promise<Annotation[]> {
  const cfg = session.config;
  const path = cfg.db.annotation.path ?? `${cfg.configDirectory}/annotations.db`;
  const read = (fn: (db: DbReader) => Annotation[]): Promise<Annotation[]> => queryDb(path, fn, { memo: session.dbMemos.of(path) }).then((a) => a ?? []);
  if (mboxname === '') return read((db) => serverAnnotations(db));
  const entry = await session.mboxlist((ml) => ml.find(mboxname));
  const uniqueid = entry?.uniqueid;
  if (!uniqueid) return [];
  return read((db) => mailboxAnnotations(db, uniqueid, { owner: mailboxOwner(mboxname, cfg) }));
}
