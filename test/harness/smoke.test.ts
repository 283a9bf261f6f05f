import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { CyrusLab } from '../../lab/cyrus-lab.js';
import { compareLab } from '../../lab/compare.js';
import type { CyrusVersion } from '../../lab/cyrus-installs.js';
import { createUser, deliver, imap, appendTo } from '../../lab/lab-ops.js';
import { skip } from '../support/skip.js';
import { cyrusSkipReason } from '../support/cyrus.js';

const reason = cyrusSkipReason();

test('stock sync_client replicates a user through the harness, and compare sees a difference', async () => {
  if (reason) return skip('harness smoke', reason);
  const lab = await CyrusLab.start();
  try {
    await createUser(lab, 'alice');
    await deliver(lab, 'alice', 5);
    await appendTo(lab, 'alice', 'Sent', 2, '\\Seen');
    await imap(lab.master, 'alice', 'SELECT INBOX', 'UID STORE 1:2 +FLAGS (\\Flagged $Work)');

    const before = await compareLab(lab, ['alice']);
    assert.not.ok(before.equal, 'replica should start empty');

    const run = lab.stockSyncClient(['-u', 'alice']);
    assert.is(run.status, 0, run.stderr);
    const after = await compareLab(lab);
    assert.equal(after.differences, []);
    assert.ok(after.equal);

    // A deliberate difference: mail only on the master.
    await deliver(lab, 'alice', 1, { start: 100 });
    const diverged = await compareLab(lab, ['alice']);
    assert.not.ok(diverged.equal);
    assert.ok(diverged.differences.some((d) => d.includes('INBOX')), diverged.differences.join('\n'));
  } finally {
    await lab.destroy();
  }
});

// Each build pair the harness runs: stock sync_client -u from the master's build, then master == replica.
const PAIRS: Array<{ master: CyrusVersion; replica: CyrusVersion }> = [
  { master: '3.10', replica: '3.10' },
  { master: '3.6', replica: '3.10' },
];

for (const pair of PAIRS) {
  const name = `Cyrus ${pair.master} master -> ${pair.replica} replica: stock sync_client -u replicates, master == replica`;
  test(name, async () => {
    const why = cyrusSkipReason(pair);
    if (why) return skip(name, why);
    const lab = await CyrusLab.start({ masterCyrus: pair.master, replicaCyrus: pair.replica });
    try {
      assert.is(lab.master.cyrus.version, pair.master);
      assert.is(lab.replica.cyrus.version, pair.replica);
      await createUser(lab, 'bob');
      await deliver(lab, 'bob', 4);
      await appendTo(lab, 'bob', 'Sent', 2, '\\Seen');
      await imap(lab.master, 'bob', 'SELECT INBOX', 'UID STORE 1 +FLAGS (\\Flagged)', 'SETACL INBOX anyone lr');
      await imap(lab.master, null, 'SETQUOTA "user/bob" (STORAGE 100000)');

      const run = lab.stockSyncClient(['-u', 'bob']);
      assert.is(run.status, 0, run.stderr);
      const after = await compareLab(lab);
      assert.equal(after.differences, []);
      assert.ok(after.equal);

      // syncmux's copyback hand-off must run the master's own sync_client.
      const configured = /^syncmux_copyback_client:\s*(\S+)/m.exec(fs.readFileSync(lab.master.paths.imapdConf, 'utf8'))?.[1];
      if (pair.master === '3.6') {
        assert.is(configured, undefined, 'a 3.6 master keeps the default hand-off client');
      } else {
        assert.ok(configured, 'a 3.10 master names its own sync_client for the hand-off');
        await deliver(lab, 'bob', 1, { start: 50 });
        const handOff = spawnSync(configured!, ['-C', lab.master.paths.imapdConf, '-n', lab.channel, '-v', '-u', 'bob'], { encoding: 'utf8' });
        assert.is(handOff.status, 0, handOff.stderr);
        assert.ok((await compareLab(lab)).equal, 'the hand-off client replicated the new message');
      }
    } finally {
      await lab.destroy();
    }
  });
}

test.run();
