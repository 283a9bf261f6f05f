/**
 * A seeded random workload (lab/demo/activity.ts: deliveries, flags,
 * expunges, folder create/rename/delete, sharing and seen, subscriptions,
 * quota, metadata, cross-user moves) interleaved with `syncmux run --shards
 * 4`. Afterwards the channel drains, master equals replica over IMAP, and
 * stock sync_client -u finds nothing to send for any user: it compares what
 * IMAP cannot see (SYNC_CRC, modseqs, record details). Replay a failure with
 * SYNCMUX_SEED=<seed from the message>.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { CyrusLab } from '../../lab/cyrus-lab.js';
import { createUser } from '../../lab/lab-ops.js';
import { runActivity } from '../../lab/demo/activity.js';
import { cyrusSkipReason } from '../support/cyrus.js';
import { assertReplicaCaughtUp, rootOwnedInMaster, startDaemon, stopDaemon, waitChannelDrained } from '../support/daemon.js';
import { skip } from '../support/skip.js';

const reason = cyrusSkipReason();
const SEED = Number(process.env.SYNCMUX_SEED ?? 20240611);
const USERS = Array.from({ length: 20 }, (_, i) => `user${String(i).padStart(2, '0')}`);

test(`seeded random workload under syncmux run --shards 4 (seed ${SEED})`, async () => {
  if (reason) return skip('seeded random workload', reason);
  const lab = await CyrusLab.start();
  try {
    for (const u of USERS) await createUser(lab, u, ['Drafts', 'Sent', 'Trash', 'Archive']);
    const daemon = startDaemon(lab, 4);
    const counter = { events: 0 };
    try {
      await runActivity(lab, USERS, 15_000, counter, SEED);
      await waitChannelDrained(lab);
    } finally {
      assert.is(await stopDaemon(daemon), 75, `seed ${SEED}: daemon exit\n${daemon.output()}`);
    }
    const where = `seed ${SEED}, ${counter.events} events`;
    assert.ok(counter.events > 100, `${where}: the workload ran`);
    assert.equal(daemon.problems, [], `${where}: a healthy run reports no failure`);
    await assertReplicaCaughtUp(lab, daemon, USERS, where);
    assert.equal(rootOwnedInMaster(lab), [], `${where}: root-owned files in the master`);
  } finally {
    await lab.destroy();
  }
});

test.run();
