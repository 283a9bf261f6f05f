/**
 * The replica dies under a running `syncmux run`: every replica process
 * (cyrus master, sync_server, imapd) is SIGKILLed twice during a seeded
 * random workload and restarted a moment later, so commands are cut off
 * mid-flight, uploads go unanswered and connections vanish without a BYE.
 * The daemon must reconnect and retry on its own, lose nothing and apply
 * nothing twice: afterwards master equals replica over IMAP and stock
 * sync_client -u finds nothing left to send for any user.
 */
import fs from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { CyrusLab, pidsWithArgument } from '../../lab/cyrus-lab.js';
import { createUser } from '../../lab/lab-ops.js';
import { runActivity } from '../../lab/demo/activity.js';
import { cyrusSkipReason } from '../support/cyrus.js';
import { assertReplicaCaughtUp, sleep, startDaemon, stopDaemon, waitChannelDrained, waitFor } from '../support/daemon.js';
import { skip } from '../support/skip.js';

const reason = cyrusSkipReason();
const SEED = Number(process.env.SYNCMUX_SEED ?? 20261126);
const USERS = Array.from({ length: 12 }, (_, i) => `crash${String(i).padStart(2, '0')}`);

const isSyncServer = (pid: number): boolean => {
  try {
    return /sync_server/.test(fs.readFileSync(`/proc/${pid}/comm`, 'utf8')) || fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').startsWith('sync_server');
  } catch {
    return false;
  }
};

const syncServersOf = (lab: CyrusLab): number[] => pidsWithArgument(lab.replica.paths.imapdConf).filter(isSyncServer);

/** SIGKILLs the whole replica at once, then starts it again; returns how many sync_server processes died. */
async function crashReplica(lab: CyrusLab): Promise<number> {
  const pids = pidsWithArgument(lab.replica.paths.imapdConf);
  const syncServers = pids.filter(isSyncServer).length;
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  await sleep(400);
  await lab.restart(lab.replica);
  return syncServers;
}

test(`the replica SIGKILLed twice under syncmux run: it reconnects, loses nothing (seed ${SEED})`, async () => {
  if (reason) return skip('replica crash under syncmux run', reason);
  const lab = await CyrusLab.start();
  try {
    for (const u of USERS) await createUser(lab, u, ['Drafts', 'Sent', 'Trash']);
    const daemon = startDaemon(lab, 2);
    const counter = { events: 0 };
    const killed: number[] = [];
    try {
      const crashes = (async () => {
        await sleep(3000);
        killed.push(await crashReplica(lab));
        // The second crash waits for the daemon to be back (its reconnect wait is stock's 15 s).
        await waitFor('the daemon to reconnect', () => syncServersOf(lab).length > 0, 60_000);
        await sleep(1000);
        killed.push(await crashReplica(lab));
      })();
      await Promise.all([runActivity(lab, USERS, 12_000, counter, SEED), crashes]);
      await waitChannelDrained(lab, 120_000);
    } finally {
      assert.is(await stopDaemon(daemon), 75, `seed ${SEED}: daemon exit\n${daemon.output()}`);
    }
    const where = `seed ${SEED}, ${counter.events} events, sync_servers killed ${killed.join('+')}`;
    assert.ok(counter.events > 50, `${where}: the workload ran`);
    // Both crashes landed on live replication connections, so work really was cut off.
    assert.ok(killed.every((n) => n > 0), `${where}: each crash killed the daemon's sync_server processes`);
    assert.match(daemon.output(), /connection lost|Can not connect/, `${where}: the operator is told the replica went away`);
    await assertReplicaCaughtUp(lab, daemon, USERS, where);
  } finally {
    await lab.destroy();
  }
});

test.run();
