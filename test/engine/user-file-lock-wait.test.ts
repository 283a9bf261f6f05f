/**
 * The per-user and per-mailbox databases are waited for like mailboxes.db
 * (mboxlist-lock-wait.test.ts): with another process holding a mailbox's
 * cyrus.annotations, or the user's subscriptions DB, exclusively for 2 s,
 * the pass that needs it waits, the event loop keeps turning (delay p99
 * under 20 ms), and the user is replicated once the lock is released.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { CyrusLab } from '../../lab/cyrus-lab.js';
import { compareLab } from '../../lab/compare.js';
import { createUser, deliver, imap } from '../../lab/lab-ops.js';
import { loadConfig, Mboxlist, subsPath, takeMailboxSnapshot } from '../../src/cyrus/index.js';
import { cyrusSkipReason } from '../support/cyrus.js';
import { watchEventLoop } from '../support/event-loop.js';
import { holdLock } from '../support/signals.js';
import { skip } from '../support/skip.js';
import { engineFor } from './support.js';

const HOLD_MS = 2000;

/** With `file` locked by another process for HOLD_MS, `change` is logged and a pass replicates it. */
async function passWaitsFor(lab: CyrusLab, file: string, change: () => Promise<void>): Promise<void> {
  const eut = engineFor(lab);
  try {
    const session = await eut.engine.connect();
    await change();
    const lock = await holdLock(file);
    const loop = watchEventLoop();
    const started = Date.now();
    const pass = eut.drain();
    await new Promise((r) => setTimeout(r, HOLD_MS));
    await lock.release();
    const result = await pass;
    const { p99Ms: p99, ticks } = loop.stop();
    assert.ok(Date.now() - started >= HOLD_MS - 100, `the pass waited for ${file}`);
    assert.equal(result.failed, []);
    assert.ok(p99 < 20, `event loop delay p99 ${p99.toFixed(1)} ms while ${file} was locked`);
    assert.ok(ticks >= (HOLD_MS / 10) * 0.6, `timers ran ${ticks} times in ${HOLD_MS} ms while ${file} was locked`);
    assert.ok((await eut.engine.connect()) === session, 'the same connection survived the wait');
    assert.equal((await compareLab(lab, ['alice'])).differences, []);
  } finally {
    await eut.engine.close();
  }
}

const NAME = "a mailbox's cyrus.annotations and a user's subscriptions DB, locked, stall the user, not the event loop";

test(NAME, async () => {
  const reason = cyrusSkipReason();
  if (reason) return skip(NAME, reason);
  const lab = await CyrusLab.start();
  try {
    await createUser(lab, 'alice');
    await imap(lab.master, 'alice', 'SUBSCRIBE Sent', 'SETMETADATA INBOX (/private/comment "seed")');
    const first = engineFor(lab);
    await first.drain();
    await first.engine.close();

    const cfg = loadConfig(lab.master.paths.imapdConf);
    const inbox = await takeMailboxSnapshot(cfg, 'user.alice');
    inbox.release();
    await passWaitsFor(lab, inbox.snapshot.paths.annotations, () => deliver(lab, 'alice', 2));
    await passWaitsFor(lab, subsPath(cfg, await Mboxlist.open(cfg), 'alice'), async () => {
      await imap(lab.master, 'alice', 'SUBSCRIBE Drafts');
    });
  } finally {
    await lab.destroy();
  }
});

test.run();
