/**
 * Who an audit covers: one named user, or every user with a live mailbox
 * on the master followed by `@` with every shared mailbox, in mailboxes.db
 * order (as `syncmux-client -A` walks them); and how one is audited.
 */
import { type CyrusConfig, Mboxlist, mailboxOwner, type OpenDbOptions } from '../cyrus/index.js';
import type { Divergence } from './divergence.js';
import { auditMailboxes, auditUser, type AuditContext } from './user-audit.js';

export const SHARED = '@';

export interface Subject {
  /** A userid, or `@` for the shared mailboxes. */
  user: string;
  /** For `@`: the shared mailboxes' internal names. */
  mailboxes?: string[];
}

/** Every user with a live mailbox, then the shared mailboxes as one subject, from one read of mailboxes.db. */
export async function allSubjects(config: CyrusConfig, options: OpenDbOptions = {}): Promise<Subject[]> {
  const users: Subject[] = [];
  const shared: string[] = [];
  let last: string | null = null;
  for (const entry of (await Mboxlist.open(config, options)).entries()) {
    if (entry.mbtype.deleted || entry.mbtype.intermediate || entry.mbtype.reserve) continue;
    if (entry.name.startsWith(`${config.deletedPrefix}.`) || entry.name.includes(`!${config.deletedPrefix}.`)) continue;
    const owner = mailboxOwner(entry.name, config);
    if (!owner) shared.push(entry.name);
    else if (owner !== last) users.push({ user: (last = owner) });
  }
  return shared.length ? [...users, { user: SHARED, mailboxes: shared }] : users;
}

export function auditSubject(ctx: AuditContext, s: Subject): Promise<Divergence[]> {
  return s.mailboxes ? auditMailboxes(ctx, s.user, s.mailboxes) : auditUser(ctx, s.user);
}

/**
 * Audits, and when anything differs audits again after `recheckMs`: a
 * change still on its way (on a live master, or in the daemon's shard
 * logs) is not a divergence.
 */
export async function auditSettled(ctx: AuditContext, s: Subject, recheckMs: number, signal?: AbortSignal): Promise<Divergence[]> {
  const first = await auditSubject(ctx, s);
  if (first.length === 0) return first;
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, recheckMs);
    signal?.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
  });
  return signal?.aborted ? first : auditSubject(ctx, s);
}
