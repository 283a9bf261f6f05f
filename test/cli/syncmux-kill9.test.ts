/**
 * Crash safety of `syncmux run`: while a seeded workload runs, the daemon
 * is killed with SIGKILL at random moments (mid hand-off, mid batch, mid
 * journal write: wherever it happens to be) and started again. Nothing may
 * be lost: at the end the channel drains, master equals replica, and stock
 * sync_client -u finds nothing to send. Replay with SYNCMUX_SEED=<seed>.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { CyrusLab } from '../../lab/cyrus-lab.js';
import { createUser } from '../../lab/lab-ops.js';
import { prng, runActivity } from '../../lab/demo/activity.js';
import { cyrusSkipReason } from '../support/cyrus.js';
import { assertReplicaCaughtUp, rootOwnedInMaster, sleep, startDaemon, stopDaemon, waitChannelDrained, type Daemon } from '../support/daemon.js';
import { skip } from '../support/skip.js';

const reason = cyrusSkipReason();
const SEED = Number(process.env.SYNCMUX_SEED ?? 4242);
const USERS = Array.from({ length: 12 }, (_, i) => `k${String(i).padStart(2, '0')}`);
const KILLS = 4;

test(`syncmux run killed with SIGKILL ${KILLS} times mid-workload loses nothing (seed ${SEED})`, async () => {
  if (reason) return skip('kill -9', reason);
  const lab = await CyrusLab.start();
  const random = prng(SEED ^ 0x5eed);
  let daemon: Daemon | null = null;
  const outputs: string[] = [];
  try {
    for (const u of USERS) await createUser(lab, u, ['Drafts', 'Sent', 'Trash', 'Archive']);
    daemon = startDaemon(lab, 4);
    const counter = { events: 0 };
    const activity = runActivity(lab, USERS, 14_000, counter, SEED);
    for (let i = 0; i < KILLS; i++) {
      // 0.8–3.3 s: sometimes before the workers are even up, mostly mid-stream.
      await sleep(800 + Math.floor(random() * 2500));
      daemon.child.kill('SIGKILL');
      assert.is(await daemon.exited, 'SIGKILL', daemon.output());
      outputs.push(daemon.output());
      daemon = startDaemon(lab, 4);
    }
    await activity;
    const where = `seed ${SEED}, ${counter.events} events`;
    await waitChannelDrained(lab).catch((err: Error) => assert.unreachable(`${where}: ${err.message}\n${daemon!.output().slice(-4000)}`));
    await assertReplicaCaughtUp(lab, daemon, USERS, where);
    assert.is(await stopDaemon(daemon), 75, daemon.output());
    daemon = null;
    assert.equal(rootOwnedInMaster(lab), [], `${where}: root-owned files in the master`);
  } finally {
    if (daemon) await stopDaemon(daemon);
    await lab.destroy();
  }
});

test.run();
