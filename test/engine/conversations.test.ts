/**
 * With `conversations: yes` on both sides, each record carries a CID and the
 * replica must end up with the master's threads: the same THREADID for the
 * same message, after a thread is built by In-Reply-To, copied to another
 * folder and partly expunged (when the replica applies Sent's expunge before
 * Drafts has the copies, only the XCONVMODSEQ we send fixes Drafts' thread
 * modseq; without it stock sync_client -u finds Drafts behind). compareLab does not ask for THREADID (without conversations there
 * is none), so this test does, next to the usual compare and stock
 * sync_client finding nothing left to send.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { CyrusLab } from '../../lab/cyrus-lab.js';
import { compareLab } from '../../lab/compare.js';
import { createUser, deliver, imap, withImap } from '../../lab/lab-ops.js';
import { cyrusSkipReason } from '../support/cyrus.js';
import { stockWouldSend } from '../support/daemon.js';
import { skip } from '../support/skip.js';
import { loadConfig } from '../../src/cyrus/config.js';
import { takeMailboxSnapshot } from '../../src/cyrus/snapshot.js';
import { chunksToBuffer, printNode } from '../../src/dlist/index.js';
import { mailboxDlist } from '../../src/engine/mailbox-dlist.js';
import { isUnchanged, replicaStateAfterApply } from '../../src/engine/replica-mailbox.js';
import { engineFor } from './support.js';

const reason = cyrusSkipReason();

async function threads(lab: CyrusLab, which: 'master' | 'replica', folder: string): Promise<string> {
  const [, fetch] = await imap(lab[which], 'dave', `EXAMINE ${folder}`, 'UID FETCH 1:* (EMAILID THREADID)');
  return JSON.stringify(fetch!.untagged);
}

test('conversations: threads and CIDs replicate through copy and expunge', async () => {
  if (reason) return skip('conversations replicate', reason);
  const lab = await CyrusLab.start({ bothExtra: ['conversations: yes', 'reverseacls: yes'] });
  const eut = engineFor(lab);
  try {
    const step = async (what: string) => {
      const r = await eut.drain();
      assert.equal(r.failed, [], `${what}: ${eut.logs.join('\n')}`);
      assert.equal((await compareLab(lab)).differences, [], what);
      for (const folder of ['INBOX', 'Sent', 'Drafts']) {
        const master = await threads(lab, 'master', folder);
        assert.is(await threads(lab, 'replica', folder), master, `${what}: ${folder} threads`);
      }
      const stock = stockWouldSend(lab, ['-u', 'dave']);
      assert.equal(stock.sent, [], `${what}: stock sync_client -u dave still had work`);
    };
    await createUser(lab, 'dave');
    await deliver(lab, 'dave', 2);
    await withImap(lab.master, 'dave', async (c) => {
      await c.append('Sent', Buffer.from('Message-ID: <t1@example.org>\r\nSubject: plans\r\n\r\nfirst\r\n'));
      await c.append('Sent', Buffer.from('Message-ID: <t2@example.org>\r\nIn-Reply-To: <t1@example.org>\r\nReferences: <t1@example.org>\r\nSubject: Re: plans\r\n\r\nsecond\r\n'));
    });
    await step('a thread of two');
    const sent = await threads(lab, 'master', 'Sent');
    const ids = [...sent.matchAll(/"T[0-9a-f]+"/g)].map((m) => m[0]);
    assert.is(ids.length, 2, sent);
    assert.is(ids[0], ids[1], `the reply joined the thread: ${sent}`);

    await imap(lab.master, 'dave', 'SELECT Sent', 'UID COPY 1:2 Drafts', 'UID STORE 1 +FLAGS (\\Deleted)', 'EXPUNGE');
    await step('copy, then expunge the first');

    // is_unchanged compares XCONVMODSEQ too: the same state with another thread modseq is a change.
    const h = await takeMailboxSnapshot(loadConfig(lab.master.paths.imapdConf), 'user.dave.Drafts');
    try {
      const s = h.snapshot;
      assert.ok(s.xconvmodseq !== null && s.xconvmodseq > 0n, `Drafts has a thread modseq: ${s.xconvmodseq}`);
      const replica = replicaStateAfterApply(s, 'default', s.index.uidvalidity);
      assert.ok(isUnchanged(s, replica));
      assert.not.ok(isUnchanged(s, { ...replica, xconvmodseq: s.xconvmodseq! - 1n }));
    } finally {
      h.release();
    }

    // Sharing a folder bumps the grantee's reverse-ACL modseq, sent as RACLMODSEQ on their INBOX.
    await createUser(lab, 'erin', []);
    await step('another user');
    await imap(lab.master, 'dave', 'SETACL Sent erin lr');
    await step('a folder shared with erin');
    const inbox = await takeMailboxSnapshot(loadConfig(lab.master.paths.imapdConf), 'user.erin');
    inbox.release();
    assert.ok(inbox.snapshot.raclmodseq > 0n, 'erin has a reverse-ACL modseq');
    const wire = chunksToBuffer(printNode(mailboxDlist(inbox.snapshot, { recordsAbove: null }))).toString('latin1');
    assert.match(wire, ` RACLMODSEQ ${inbox.snapshot.raclmodseq} `);
    assert.match(wire, ` XCONVMODSEQ ${inbox.snapshot.xconvmodseq} `);
    const stock = stockWouldSend(lab, ['-u', 'erin']);
    assert.equal(stock.sent, [], 'stock sync_client -u erin finds nothing to send');
    const onReplica = /MBOXNAME user\.erin .*?RACLMODSEQ (\d+)/.exec(stock.stderr)?.[1];
    assert.is(onReplica, String(inbox.snapshot.raclmodseq), "the replica's RACLMODSEQ of user.erin");

    // Moving dave's folder to erin leaves dave named in its ACL: dave's
    // reverse-ACL modseq moves, on the master and (by itself) on the replica.
    await imap(lab.master, 'dave', 'CREATE Notes');
    await withImap(lab.master, 'dave', (c) => c.append('Notes', Buffer.from('Subject: note\r\n\r\nkeep\r\n')));
    await step('a folder with a note');
    await imap(lab.master, null, 'RENAME "user/dave/Notes" "user/erin/From Dave"');
    // step() checks dave's side. erin's moved folder is left out: after the
    // same move stock sync_client itself finds it different for ever (the
    // master's conversations DB has no thread modseq for it, the replica has).
    await step('the folder moved to erin');
  } finally {
    await eut.engine.close();
    await lab.destroy();
  }
});

test.run();
