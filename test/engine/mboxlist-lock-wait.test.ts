/**
 * While Cyrus holds mailboxes.db (a checkpoint, ctl_mboxlist, a big rename),
 * replication waits for it without blocking the event loop: with another
 * process holding the lock exclusively for 3 s, a user's replication waits,
 * the event loop's delay stays low (p99 under 20 ms), the connection
 * survives, and the user is replicated once the lock is released. A stop
 * (the engine's stopConnecting) ends such a wait at once: the user fails
 * for this pass, and a later pass replicates it.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import path from 'node:path';
import { CyrusLab } from '../../lab/cyrus-lab.js';
import { compareLab } from '../../lab/compare.js';
import { createUser, deliver } from '../../lab/lab-ops.js';
import { cyrusSkipReason } from '../support/cyrus.js';
import { watchEventLoop } from '../support/event-loop.js';
import { holdLock } from '../support/signals.js';
import { skip } from '../support/skip.js';
import { engineFor } from './support.js';

/**
 * A lab whose alice is on the replica, and an engine that has not read
 * mailboxes.db yet: nothing of it is in its memo, so its pass must read it
 * under the lock.
 */
async function aliceOnReplica() {
  const lab = await CyrusLab.start();
  const first = engineFor(lab);
  await createUser(lab, 'alice');
  await first.drain();
  await first.engine.close();
  return { lab, eut: engineFor(lab) };
}

const NAME = 'a mailboxes.db lock held for 3 s stalls the user, not the event loop';

test(NAME, async () => {
  const reason = cyrusSkipReason();
  if (reason) return skip(NAME, reason);
  const { lab, eut } = await aliceOnReplica();
  try {
    await deliver(lab, 'alice', 3);
    const session = await eut.engine.connect();
    const lock = await holdLock(path.join(lab.master.paths.configDirectory, 'mailboxes.db'));
    const loop = watchEventLoop();
    const started = Date.now();
    const pass = eut.drain();
    await new Promise((r) => setTimeout(r, 3000));
    await lock.release();
    const result = await pass;
    const { p99Ms: p99, ticks } = loop.stop();
    assert.ok(Date.now() - started >= 2900, 'the pass waited for the lock');
    assert.equal(result.failed, []);
    assert.ok(p99 < 20, `event loop delay p99 ${p99.toFixed(1)} ms`);
    assert.ok(ticks >= 200, `timers ran ${ticks} times in 3 s`);
    assert.ok((await eut.engine.connect()) === session, 'the same connection survived the wait');
    assert.equal((await compareLab(lab, ['alice'])).differences, []);
  } finally {
    await eut.engine.close();
    await lab.destroy();
  }
});

const STOP = 'a stop ends a mailboxes.db lock wait at once; the user is replicated later';

test(STOP, async () => {
  const reason = cyrusSkipReason();
  if (reason) return skip(STOP, reason);
  const { lab, eut } = await aliceOnReplica();
  try {
    await deliver(lab, 'alice', 2);
    await eut.engine.connect();
    const lock = await holdLock(path.join(lab.master.paths.configDirectory, 'mailboxes.db'));
    const pass = eut.drain();
    await new Promise((r) => setTimeout(r, 300));
    const stopped = Date.now();
    eut.engine.stopConnecting();
    const result = await pass;
    const waited = Date.now() - stopped;
    await lock.release();
    assert.ok(waited < 2000, `the pass went on ${waited} ms after the stop (lock timeout 10 s)`);
    assert.equal(result.failed.map((f) => f.key), ['alice']);
    assert.match(result.failed[0]!.error, 'lock wait ended by a stop');
  } finally {
    await eut.engine.close();
  }
  const again = engineFor(lab);
  try {
    await again.drain();
    assert.equal((await compareLab(lab, ['alice'])).differences, []);
  } finally {
    await again.engine.close();
    await lab.destroy();
  }
});

test.run();
