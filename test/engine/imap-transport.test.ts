import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { CyrusLab } from '../../lab/cyrus-lab.js';
import { compareLab } from '../../lab/compare.js';
import { appendTo, createUser, deliver, imap } from '../../lab/lab-ops.js';
import { skip } from '../support/skip.js';
import { cyrusSkipReason } from '../support/cyrus.js';
import { engineFor } from './support.js';

const reason = cyrusSkipReason();

test('the engine replicates over the IMAP-embedded transport (sync_try_imap on the replica imapd)', async () => {
  if (reason) return skip('imap transport', reason);
  const lab = await CyrusLab.start({ syncTryImap: true });
  const eut = engineFor(lab);
  try {
    await createUser(lab, 'alice');
    await deliver(lab, 'alice', 3);
    await appendTo(lab, 'alice', 'Sent', 1, '\\Seen');
    await imap(lab.master, 'alice', 'CREATE "Big Folder"', 'SELECT INBOX', 'STORE 1 +FLAGS (\\Flagged)');
    assert.equal((await eut.drain()).failed, [], eut.logs.join('\n'));
    const session = await eut.engine.connect();
    assert.is(session.replica.connection.session.transport, 'imap');
    await deliver(lab, 'alice', 1, { start: 10 });
    assert.equal((await eut.drain()).failed, []);
    assert.equal((await compareLab(lab)).differences, []);
  } finally {
    await eut.engine.close();
    await lab.destroy();
  }
});

test.run();
