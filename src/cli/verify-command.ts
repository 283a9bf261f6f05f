/**
 * `syncmux verify`: a read-only audit of the replica against the master
 * (src/verify). For each user (--user U, or --all: every user with a live
 * mailbox and the shared mailboxes, in mailboxes.db order) it prints each
 * divergence and exits 1 if there is any, 0 if none; 64 usage, 70 no
 * sync_host or an internal error, 75 replica unreachable or stopped by a
 * signal. --repair writes the daemon's `resyncuser-<U>` control file for
 * each diverging user (what `syncmux resync --user U` does); --json prints
 * one JSON document instead of text. It never sends APPLY.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Mboxlist } from '../cyrus/mboxlist.js';
import { mailboxOwner } from '../cyrus/names.js';
import type { CyrusConfig } from '../cyrus/config.js';
import { EndpointError } from '../protocol/endpoint.js';
import type { ReplicaClient } from '../protocol/replica-client.js';
import { RESYNC_PREFIX } from '../shard/index.js';
import { formatDivergence, type Divergence } from '../verify/divergence.js';
import { openReadOnlyReplica } from '../verify/read-only-replica.js';
import { auditMailboxes, auditUser } from '../verify/user-audit.js';
import type { CommandContext } from './syncmux-commands.js';

/** A diverging user is audited again after this long: a change in flight on a live master is not a divergence. */
const RECHECK_AFTER_MS = 1000;
const SHARED = '@';

interface Subject {
  /** A userid, or `@` for the shared mailboxes. */
  user: string;
  /** For `@`: the shared mailboxes' internal names. */
  mailboxes?: string[];
}

export async function verifyCommand(ctx: CommandContext): Promise<number> {
  const { user, all, json, repair } = ctx.values;
  if ((typeof user === 'string') === !!all || (typeof user === 'string' && (!user || user.includes('/')))) {
    process.stderr.write('syncmux verify: give exactly one of --user <userid> or --all\n');
    return 64;
  }
  const subjects = typeof user === 'string' ? [{ user }] : allSubjects(ctx.config);
  let replica: ReplicaClient;
  try {
    replica = await openReadOnlyReplica(ctx.config, ctx.channel, { signal: ctx.signal });
  } catch (err) {
    if (err instanceof EndpointError) {
      process.stderr.write(`syncmux verify: ${err.message}\n`);
      return err.exitCode;
    }
    process.stderr.write(`syncmux verify: cannot connect to the replica: ${(err as Error).message}\n`);
    return 75;
  }
  const found: Divergence[] = [];
  try {
    const audit = (s: Subject) => (s.mailboxes ? auditMailboxes({ config: ctx.config, replica }, s.user, s.mailboxes) : auditUser({ config: ctx.config, replica }, s.user));
    for (const subject of subjects) {
      if (ctx.signal.aborted) return 75;
      let divergences = await audit(subject);
      if (divergences.length) {
        await new Promise((r) => setTimeout(r, RECHECK_AFTER_MS));
        divergences = await audit(subject);
      }
      found.push(...divergences);
      if (!json) for (const d of divergences) process.stdout.write(`${formatDivergence(d)}\n`);
    }
  } catch (err) {
    if (ctx.signal.aborted) return 75;
    process.stderr.write(`syncmux verify: ${(err as Error).message}\n`);
    return replica.connection.failure ? 75 : 70;
  } finally {
    await replica.connection.close();
  }
  const diverging = [...new Set(found.map((d) => d.user))];
  const queued = repair ? queueResyncs(ctx, diverging) : [];
  if (json) {
    process.stdout.write(`${JSON.stringify({ checked: subjects.map((s) => s.user), diverging, divergences: found, resyncQueued: queued })}\n`);
  } else {
    for (const u of queued) process.stdout.write(`queued a full resync of ${u}\n`);
    if (repair && diverging.includes(SHARED)) process.stdout.write('shared mailboxes are not resynced by the daemon: use syncmux-client -m <mailbox>\n');
    process.stdout.write(`verified ${subjects.length} user(s): ${found.length} divergence(s) in ${diverging.length} user(s)\n`);
  }
  ctx.log.log(found.length ? 'warning' : 'info', `verify: ${found.length} divergence(s) in ${diverging.length} of ${subjects.length} user(s)${diverging.length ? `: ${diverging.join(' ')}` : ''}`);
  return found.length ? 1 : 0;
}

/** Every user with a live mailbox, then `@` with every shared mailbox; as `syncmux-client -A` walks them. */
function allSubjects(config: CyrusConfig): Subject[] {
  const users: Subject[] = [];
  const shared: string[] = [];
  let last: string | null = null;
  for (const entry of Mboxlist.open(config).entries()) {
    if (entry.mbtype.deleted || entry.mbtype.intermediate || entry.mbtype.reserve) continue;
    if (entry.name.startsWith(`${config.deletedPrefix}.`) || entry.name.includes(`!${config.deletedPrefix}.`)) continue;
    const owner = mailboxOwner(entry.name, config);
    if (!owner) shared.push(entry.name);
    else if (owner !== last) users.push({ user: (last = owner) });
  }
  return shared.length ? [...users, { user: SHARED, mailboxes: shared }] : users;
}

/** The daemon's resync request, as `syncmux resync --user U` writes it. */
function queueResyncs(ctx: CommandContext, users: string[]): string[] {
  fs.mkdirSync(ctx.channelDir, { recursive: true });
  const queued = users.filter((u) => u !== SHARED && !u.includes('/'));
  for (const u of queued) {
    const file = path.join(ctx.channelDir, `${RESYNC_PREFIX}${u}`);
    fs.writeFileSync(file, '');
    ctx.log.log('notice', `verify --repair: created ${file}`);
  }
  return queued;
}
