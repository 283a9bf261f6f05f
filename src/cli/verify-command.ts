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
import { EndpointError, type ReplicaClient } from '../protocol/index.js';
import { EXIT, exitCodeOf } from './exit-codes.js';
import {
  formatDivergence,
  type Divergence,
  openReadOnlyReplica,
  queueResyncs,
  allSubjects,
  auditSettled,
  SHARED,
} from '../verify/index.js';
import type { CommandContext } from './syncmux-commands.js';

/** A diverging user is audited again after this long: a change in flight on a live master is not a divergence. */
const RECHECK_AFTER_MS = 1000;

export async function verifyCommand(ctx: CommandContext): Promise<number> {
  const { user, all, json, repair } = ctx.values;
  const named = typeof user === 'string';
  if (named === !!all || (named && (!user || user.includes('/')))) {
    process.stderr.write('syncmux verify: give exactly one of --user <userid> or --all\n');
    return EXIT.USAGE;
  }
  const subjects = named ? [{ user }] : await allSubjects(ctx.config);
  let replica: ReplicaClient;
  try {
    replica = await openReadOnlyReplica(ctx.config, ctx.channel, { signal: ctx.signal });
  } catch (err) {
    if (err instanceof EndpointError) {
      process.stderr.write(`syncmux verify: ${err.message}\n`);
      return exitCodeOf(err);
    }
    process.stderr.write(`syncmux verify: cannot connect to the replica: ${(err as Error).message}\n`);
    return EXIT.TEMPFAIL;
  }
  const found: Divergence[] = [];
  try {
    for (const subject of subjects) {
      if (ctx.signal.aborted) return EXIT.TEMPFAIL;
      const divergences = await auditSettled({ config: ctx.config, replica }, subject, RECHECK_AFTER_MS, ctx.signal);
      if (ctx.signal.aborted) return EXIT.TEMPFAIL;
      found.push(...divergences);
      if (!json) for (const d of divergences) process.stdout.write(`${formatDivergence(d)}\n`);
    }
  } catch (err) {
    if (ctx.signal.aborted) return EXIT.TEMPFAIL;
    process.stderr.write(`syncmux verify: ${(err as Error).message}\n`);
    return replica.connection.failure ? 75 : 70;
  } finally {
    await replica.connection.close();
  }
  const diverging = [...new Set(found.map((d) => d.user))];
  const queued = repair ? queueResyncs(ctx.channelDir, diverging) : [];
  if (queued.length) ctx.log.log('notice', `verify --repair: requested a full resync of ${queued.join(' ')}`);
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
