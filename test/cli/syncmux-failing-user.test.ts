/**
 * Failure isolation in `syncmux run`: one user's replica mailbox is made
 * unreadable for the cyrus user (chmod 000 on its spool directory; Cyrus
 * 3.6.1's sync_server then answers NO for that user's GET and APPLY only),
 * and mail keeps arriving for several users. The others, including users on
 * the failing user's own shard, must keep replicating while the bad user's
 * lines wait in the retry journal; once the fault is repaired the backoff
 * retry (1 s, doubling) heals the user and everything compares equal.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import { readStatus } from '../../src/cli/run-daemon.js';
import { CyrusLab, type Instance } from '../../lab/cyrus-lab.js';
import { compareLab } from '../../lab/compare.js';
import { createUser, deliver } from '../../lab/lab-ops.js';
import { shardOf } from '../../src/native/index.js';
import { cyrusSkipReason } from '../support/cyrus.js';
import { rootOwnedInMaster, startDaemon, stockWouldSend, stopDaemon, waitChannelDrained, waitFor } from '../support/daemon.js';
import { skip } from '../support/skip.js';

const reason = cyrusSkipReason();
const SHARDS = 4;
const BAD = 'bad';

/** Two users on the bad user's shard and two elsewhere, so both kinds of neighbour are covered. */
function goodUsers(): string[] {
  const candidates = Array.from({ length: 40 }, (_, i) => `good${i}`);
  const home = shardOf(BAD, SHARDS);
  const same = candidates.filter((u) => shardOf(u, SHARDS) === home).slice(0, 2);
  const other = candidates.filter((u) => shardOf(u, SHARDS) !== home).slice(0, 2);
  assert.is(same.length + other.length, 4, 'enough candidate names');
  return [...same, ...other];
}

/** Message files (`<uid>.`) in a user's INBOX directory; read as root, so a chmod 000 does not hide them. */
function inboxFiles(lab: CyrusLab, inst: Instance, dir = inboxDir(lab, inst)): number {
  return fs.readdirSync(dir).filter((n) => /^\d+\.$/.test(n)).length;
}

function inboxDir(lab: CyrusLab, inst: Instance): string {
  return lab.tool(inst, 'mbpath', [`user/${BAD}`]).stdout.trim();
}

test('one failing user never blocks the others, and heals once the fault is repaired', async () => {
  if (reason) return skip('failing user', reason);
  const lab = await CyrusLab.start();
  const goods = goodUsers();
  const daemon = startDaemon(lab, SHARDS);
  const log = () => daemon.output().slice(-4000);
  let replicaDir: string | null = null;
  let mode = 0;
  try {
    for (const u of [BAD, ...goods]) {
      await createUser(lab, u);
      await deliver(lab, u, 1);
    }
    await waitChannelDrained(lab);
    assert.equal((await compareLab(lab)).differences, [], log());

    replicaDir = inboxDir(lab, lab.replica);
    mode = fs.statSync(replicaDir).mode & 0o7777;
    fs.chmodSync(replicaDir, 0);
    for (let round = 1; round <= 3; round++) {
      for (const u of [BAD, ...goods]) await deliver(lab, u, 1, { start: round * 10 });
      await waitFor(`round ${round}: the good users to be replicated`, async () => (await compareLab(lab, goods)).equal, 20_000, 200);
    }
    assert.is(inboxFiles(lab, lab.replica, replicaDir), 1, 'the bad user got none of the new mail');
    assert.is(inboxFiles(lab, lab.master), 4);
    assert.match(daemon.output(), /user "bad" failed \(attempt 1\)/);
    // The status file is rewritten every second.
    await waitFor('the bad user to show as held in its shard\'s retry journal',
      () => readStatus(lab.syncLogDir())?.shardStats[shardOf(BAD, SHARDS)]?.retryUsers === 1, 5000);

    fs.chmodSync(replicaDir, mode);
    replicaDir = null;
    await waitChannelDrained(lab, 60_000);
    assert.equal((await compareLab(lab)).differences, [], log());
    const stock = stockWouldSend(lab, ['-u', BAD]);
    assert.equal(stock.sent, [], 'stock sync_client -u bad still had work');
    assert.is(await stopDaemon(daemon), 75, log());
    assert.equal(rootOwnedInMaster(lab), []);
  } finally {
    if (replicaDir) fs.chmodSync(replicaDir, mode);
    await stopDaemon(daemon);
    await lab.destroy();
  }
});

test.run();
