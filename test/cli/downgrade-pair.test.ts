/**
 * A downgrade pair, 3.10.1 master -> 3.6.1 replica (moving back after an
 * upgrade): stock 3.10.1 sync_client replicates it EQUAL, so syncmux must
 * too, with the same workload, through -A and a rolling pass.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { CyrusLab } from '../../lab/cyrus-lab.js';
import { compareLab } from '../../lab/compare.js';
import { backportInstall, installMissingReason } from '../../lab/cyrus-installs.js';
import { appendTo, createUser, deliver, imap } from '../../lab/lab-ops.js';
import { cyrusSkipReason } from '../support/cyrus.js';
import { skip } from '../support/skip.js';
import { runClient } from './support.js';

type Client = (lab: CyrusLab, args: string[]) => Promise<{ status: number | null; stderr: string }>;

const stock: Client = async (lab, args) => lab.stockSyncClient(args, { check: false });
const syncmux: Client = (lab, args) => runClient(['-C', lab.master.paths.imapdConf, '-n', lab.channel, ...args]);

for (const [name, client] of [['stock 3.10.1 sync_client', stock], ['syncmux-client', syncmux]] as const) {
  const title = `3.10.1 master -> 3.6.1 replica: ${name} replicates EQUAL`;
  test(title, async () => {
    const reason = cyrusSkipReason() ?? installMissingReason(backportInstall());
    if (reason) return skip(title, reason);
    const lab = await CyrusLab.start({ masterCyrus: '3.10', replicaCyrus: '3.6' });
    try {
      for (const u of ['alice', 'bob']) {
        await createUser(lab, u);
        await deliver(lab, u, 3);
      }
      await appendTo(lab, 'bob', 'Sent', 2, '\\Seen');
      await imap(lab.master, 'alice', 'SELECT INBOX', 'STORE 1 +FLAGS (\\Flagged)', 'SETMETADATA INBOX (/private/comment "x")', 'CREATE Projects');
      await imap(lab.master, null, 'SETQUOTA "user/bob" (STORAGE 50000)');
      const all = await client(lab, ['-A']);
      assert.is(all.status, 0, all.stderr);
      assert.equal((await compareLab(lab)).differences, []);
      await deliver(lab, 'alice', 2, { start: 10 });
      await imap(lab.master, 'bob', 'RENAME Trash Bin', 'SELECT INBOX', 'STORE 1 +FLAGS (\\Deleted)', 'EXPUNGE');
      const rolling = await client(lab, ['-R', '-1']);
      assert.is(rolling.status, 0, rolling.stderr);
      assert.equal((await compareLab(lab)).differences, []);
    } finally {
      await lab.destroy();
    }
  });
}

test.run();
