/**
 * Runs one batch's plan against the replica in stock's order, under the
 * per-user sync locks, promoting failed items as stock does (a failed
 * mailbox group, quota or annotation becomes a USER sync of its owner; a
 * failed SEEN or SUB becomes META). Connection-level failures are not
 * promoted: they propagate so the caller can reconnect and retry.
 */
import { mailboxOwner } from '../cyrus/index.js';
import { isConnectionError } from '../protocol/index.js';
import type { SyncLogLine } from '../synclog/index.js';
import { syncAnnotations, syncQuotaRoot, syncSeenItem, syncSubItem, syncUnmailbox, syncUnuser } from './item-sync.js';
import { syncMailboxes } from './mailbox-sync.js';
import { planBatch, type WorkPlan } from './plan.js';
import type { ReplicaSession } from './session.js';
import { lockUsers } from './sync-lock.js';
import { syncMeta, syncUser } from './user-sync.js';

export { isConnectionError };

/** Log lines arrive as byte strings (latin1); the engine works on text. */
function textOf(line: SyncLogLine): SyncLogLine {
  return { type: line.type, args: line.args.map((a) => Buffer.from(a, 'latin1').toString('utf8')) };
}

export async function executeBatch(session: ReplicaSession, rawLines: readonly SyncLogLine[], o: { useCache?: boolean } = {}): Promise<void> {
  const cfg = session.config;
  const plan = planBatch(rawLines.map(textOf), session.router);
  const locks = await lockUsers(cfg, session.options.serverName, usersOf(session, plan), {
    nonBlocking: session.options.nonBlocking,
    timeoutMs: 60_000,
  });
  try {
    await runPlan(session, plan, o.useCache ?? false);
  } finally {
    locks.release();
  }
}

function usersOf(session: ReplicaSession, plan: WorkPlan): Array<string | null> {
  const users: Array<string | null> = [];
  for (const names of plan.mailboxGroups.values()) for (const n of names) users.push(mailboxOwner(n, session.config));
  for (const r of plan.quotas) users.push(mailboxOwner(r, session.config));
  users.push(...plan.metas, ...plan.users, ...plan.unusers, ...plan.seen.map((s) => s.userid), ...plan.subs.map((s) => s.userid));
  return users;
}

async function runPlan(session: ReplicaSession, plan: WorkPlan, useCache: boolean): Promise<void> {
  const promoteUser = new Set<string>();
  const promoteMeta = new Set<string>();
  let lastError: unknown = null;
  const attempt = async (what: string, fn: () => Promise<void>, onFail: (err: unknown) => boolean): Promise<void> => {
    try {
      await fn();
    } catch (err) {
      if (isConnectionError(err)) throw err;
      session.log('notice', `${what} failed: ${(err as Error).message}; promoting`);
      if (!onFail(err)) lastError = err;
    }
  };
  const ownerOf = (name: string) => mailboxOwner(name, session.config);

  for (const names of plan.mailboxGroups.values()) {
    await attempt(`MAILBOXES ${names.join(' ')}`, async () => {
      await syncMailboxes(session, names, { useCache });
      session.requestRestart();
    }, () => {
      const owners = names.map(ownerOf);
      for (const o of owners) if (o) promoteUser.add(o);
      return owners.every((o) => o !== null);
    });
  }
  for (const root of plan.quotas) {
    await attempt(`QUOTA ${root}`, () => syncQuotaRoot(session, root), () => promoteOwner(ownerOf(root), promoteUser));
  }
  for (const name of plan.annotations) {
    await attempt(`ANNOTATION ${name}`, () => syncAnnotations(session, name), () => promoteOwner(name ? ownerOf(name) : null, promoteUser));
  }
  for (const s of plan.seen) {
    if (promoteUser.has(s.userid)) continue;
    await attempt(`SEEN ${s.userid}`, () => syncSeenItem(session, s.userid, s.uniqueid), () => (promoteMeta.add(s.userid), true));
  }
  for (const s of plan.subs) {
    if (promoteUser.has(s.userid)) continue;
    await attempt(`SUB ${s.userid} ${s.mailbox}`, () => syncSubItem(session, s.userid, s.mailbox), () => (promoteMeta.add(s.userid), true));
  }
  for (const name of plan.unmailboxes) await syncUnmailbox(session, name);
  for (const u of [...plan.metas, ...promoteMeta]) {
    if (promoteUser.has(u) || plan.users.includes(u)) continue;
    await attempt(`META ${u}`, () => syncMeta(session, u), () => (promoteUser.add(u), true));
  }
  for (const u of new Set([...plan.users, ...promoteUser])) {
    if (plan.unusers.includes(u)) continue;
    await syncUser(session, u);
  }
  for (const u of plan.unusers) await syncUnuser(session, u);
  if (lastError) throw lastError;
}

function promoteOwner(owner: string | null, promoteUser: Set<string>): boolean {
  if (!owner) return false;
  promoteUser.add(owner);
  return true;
}
