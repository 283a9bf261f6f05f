/**
 * The upgrade path, as Cyrus documents it: a 3.6.1 master replicating to a
 * 3.10.1 replica is upgraded in place to 3.10.1. Its spool then holds
 * cyrus.index v17 mailboxes beside the v19 ones `reconstruct -V max`
 * rewrote, and syncmux must read each by its own version. Both shapes
 * replicate the mixed spool EQUAL, and stock 3.10.1 sync_client then finds
 * nothing to apply.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import path from 'node:path';
import { CyrusLab } from '../../lab/cyrus-lab.js';
import { compareLab } from '../../lab/compare.js';
import { appendTo, createUser, deliver, imap } from '../../lab/lab-ops.js';
import { backportInstall, installMissingReason } from '../../lab/cyrus-installs.js';
import { IndexImage } from '../../src/cyrus/index-file.js';
import { cyrusSkipReason } from '../support/cyrus.js';
import { stockWouldSend, startDaemon, stopDaemon, waitFor } from '../support/daemon.js';
import { skip } from '../support/skip.js';
import { runClient } from './support.js';

const NAME = 'a 3.6.1 master upgraded in place to 3.10.1, with v17 and v19 mailboxes side by side, replicates EQUAL';
const USERS = ['alice', 'bob', 'carol'];

/** The cyrus.index minor version of a mailbox on the master, found with the master's own mbpath. */
function indexVersion(lab: CyrusLab, mailbox: string): number {
  const dir = lab.tool(lab.master, 'mbpath', ['-M', mailbox.replace(/\./g, '/')]).stdout.trim(); // unixhierarchysep names
  return new IndexImage(fs.readFileSync(path.join(dir, 'cyrus.index'))).header.minorVersion;
}

test(NAME, async () => {
  const reason = cyrusSkipReason() ?? installMissingReason(backportInstall());
  if (reason) return skip(NAME, reason);
  const lab = await CyrusLab.start({ masterCyrus: '3.6', replicaCyrus: '3.10' });
  try {
    for (const u of USERS) {
      await createUser(lab, u);
      await deliver(lab, u, 3);
    }
    await appendTo(lab, 'bob', 'Sent', 2, '\\Seen');
    const seeded = await runClient(['-C', lab.master.paths.imapdConf, '-n', lab.channel, '-A']);
    assert.is(seeded.status, 0, seeded.stderr);

    await lab.upgrade(lab.master, '3.10');
    lab.tool(lab.master, 'reconstruct', ['-V', 'max', 'user/alice']);
    assert.is(indexVersion(lab, 'user.alice'), 19, 'alice rewritten by reconstruct -V max');
    assert.is(indexVersion(lab, 'user.bob'), 17, 'bob still as 3.6.1 wrote him');

    // Changes on both kinds of mailbox, replicated by the drop-in's rolling pass.
    for (const u of USERS) await deliver(lab, u, 2, { start: 10 });
    await imap(lab.master, 'alice', 'SELECT INBOX', 'STORE 1 +FLAGS (\\Flagged)', 'CREATE Projects');
    await imap(lab.master, 'bob', 'SELECT Sent', 'STORE 1 +FLAGS (\\Answered)', 'RENAME Trash Bin');
    const once = await runClient(['-C', lab.master.paths.imapdConf, '-n', lab.channel, '-R', '-1']);
    assert.is(once.status, 0, once.stderr);
    assert.equal((await compareLab(lab)).differences, []);

    // And by the daemon.
    await deliver(lab, 'carol', 2, { start: 20 });
    await imap(lab.master, 'alice', 'SELECT INBOX', 'STORE 2 +FLAGS (\\Seen)', 'EXPUNGE');
    await imap(lab.master, 'bob', 'SELECT INBOX', 'STORE 1 +FLAGS (\\Deleted)', 'EXPUNGE');
    const daemon = startDaemon(lab, 2);
    try {
      await waitFor('the channel drained', async () => (await compareLab(lab)).equal, 60_000, 250);
    } finally {
      assert.is(await stopDaemon(daemon), 75, daemon.output());
    }
    assert.equal((await compareLab(lab)).differences, []);
    const stock = stockWouldSend(lab, ['-A'], /^>\d+>APPLY\b/);
    assert.is(stock.status, 0, stock.stderr.slice(-2000));
    assert.equal(stock.sent, [], "stock 3.10.1 sync_client still had work");
  } finally {
    await lab.destroy();
  }
});

test.run();
