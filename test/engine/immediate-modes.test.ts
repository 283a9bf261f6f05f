/**
 * The flows again on a master and replica with `expunge_mode: immediate` and
 * `delete_mode: immediate` (records and folders go at once, no DELETED.*
 * mailboxes), plus what the default-mode flows do not reach: 90 keywords
 * (user-flag slots across several index words), removing some, a special-use
 * folder, another user's private metadata and \Seen on a shared INBOX.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { CyrusLab } from '../../lab/cyrus-lab.js';
import { compareLab } from '../../lab/compare.js';
import { createUser, deliver, imap } from '../../lab/lab-ops.js';
import { cyrusSkipReason } from '../support/cyrus.js';
import { stockWouldSend } from '../support/daemon.js';
import { skip } from '../support/skip.js';
import { engineFor } from './support.js';

const reason = cyrusSkipReason();

test('immediate expunge and delete; many keywords; special-use; shared seen and metadata', async () => {
  if (reason) return skip('immediate modes', reason);
  const lab = await CyrusLab.start({ bothExtra: ['expunge_mode: immediate', 'delete_mode: immediate'] });
  const eut = engineFor(lab);
  try {
    const step = async (what: string, users = ['alice', 'bob']) => {
      const r = await eut.drain();
      assert.equal(r.failed, [], `${what}: ${eut.logs.join('\n')}`);
      assert.equal((await compareLab(lab)).differences, [], what);
      for (const u of users) assert.equal(stockWouldSend(lab, ['-u', u]).sent, [], `${what}: stock sync_client -u ${u} still had work`);
    };
    await createUser(lab, 'alice');
    await createUser(lab, 'bob', []);
    await deliver(lab, 'alice', 5);
    await step('new users');

    const keywords = Array.from({ length: 90 }, (_, i) => `$kw${i}`);
    await imap(lab.master, 'alice', 'SELECT INBOX', `UID STORE 1 +FLAGS (${keywords.slice(0, 45).join(' ')})`, `UID STORE 2 +FLAGS (${keywords.slice(45).join(' ')})`);
    await step('90 keywords');
    await imap(lab.master, 'alice', 'SELECT INBOX', `UID STORE 1 -FLAGS (${keywords.slice(0, 30).join(' ')})`, 'UID STORE 3 +FLAGS (\\Deleted)', 'EXPUNGE');
    await step('keywords removed, one message expunged');

    await imap(lab.master, 'alice', 'SETMETADATA Sent (/private/specialuse "\\\\Sent")', 'SETACL INBOX bob lrswi', 'CREATE Shared', 'SETACL Shared bob lrsw');
    await imap(lab.master, 'bob', 'SELECT "Other Users/alice"', 'UID STORE 1:2 +FLAGS (\\Seen)', 'SETMETADATA "Other Users/alice" (/private/comment "bob\'s note")');
    await step('special-use, shared seen and metadata');

    await imap(lab.master, 'alice', 'DELETE Shared', 'DELETE Drafts');
    await step('folders deleted at once');
    await imap(lab.master, null, 'SETACL "user/bob" admin lrswipkxtecda', 'DELETE "user/bob"');
    await step('user deleted at once', ['alice']);
  } finally {
    await eut.engine.close();
    await lab.destroy();
  }
});

test.run();
