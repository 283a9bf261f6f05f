/**
 * syncmux-client's one-shot and rolling modes leave the replica exactly as
 * stock sync_client would: after each mode, stock sync_client over the same
 * objects (`-v -v`) sends no APPLY at all, which is what stock itself does
 * on a replica it has just brought up to date (GETs only). Stock compares
 * more than IMAP can see: SYNC_CRC, modseqs, annotations, seen, quota, the
 * #sieve mailbox and shared mailboxes.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import path from 'node:path';
import { ADMIN, CyrusLab } from '../../lab/cyrus-lab.js';
import { compareLab } from '../../lab/compare.js';
import { appendTo, createUser, deliver, drained, imap } from '../../lab/lab-ops.js';
import { ManageSieve } from '../cyrus/support/managesieve.js';
import { cyrusSkipReason } from '../support/cyrus.js';
import { rootOwnedInMaster, stockWouldSend } from '../support/daemon.js';
import { skip } from '../support/skip.js';
import { runClient } from './support.js';

const reason = cyrusSkipReason();
const ANY_APPLY = /^>\d+>APPLY\b/;

async function putSieve(lab: CyrusLab, user: string, script: string): Promise<void> {
  const s = await ManageSieve.login(lab.master.ports.sieve!, ADMIN.user, ADMIN.password, user);
  try {
    await s.putScript('main', script);
    await s.setActive('main');
  } finally {
    await s.logout();
  }
}

test('-u, -m, -A, -R -f and -R -1 leave stock sync_client nothing to apply', async () => {
  if (reason) return skip('drop-in modes equal to stock', reason);
  const lab = await CyrusLab.start({ sieve: true });
  const client = async (...args: string[]) => {
    const r = await runClient(['-C', lab.master.paths.imapdConf, '-n', lab.channel, ...args]);
    assert.is(r.status, 0, `syncmux-client ${args.join(' ')}: ${r.stderr}`);
  };
  const stockAgrees = (...args: string[]) => {
    const r = stockWouldSend(lab, args, ANY_APPLY);
    assert.is(r.status, 0, r.stderr.slice(-2000));
    assert.equal(r.sent, [], `stock sync_client ${args.join(' ')} still had work`);
  };
  try {
    for (const u of ['alice', 'bob', 'carol']) {
      await createUser(lab, u);
      await deliver(lab, u, 3);
    }
    await appendTo(lab, 'bob', 'Sent', 2, '\\Seen');
    await imap(lab.master, 'alice', 'SETACL INBOX bob lrs', 'CREATE Projects', 'SETMETADATA INBOX (/private/comment "mine" /shared/comment "ours")',
      'SELECT INBOX', 'STORE 1 +FLAGS (\\Flagged $Work)');
    await imap(lab.master, 'bob', 'SELECT "Other Users/alice"', 'STORE 2 +FLAGS (\\Seen)');
    await imap(lab.master, null, 'SETQUOTA "user/carol" (STORAGE 50000)', 'CREATE "shared"', 'SETACL "shared" anyone lrs');
    await putSieve(lab, 'carol', 'keep;\r\n');

    await client('-u', 'alice');
    stockAgrees('-u', 'alice');
    await client('-m', 'user/bob/Sent', 'shared');
    stockAgrees('-m', 'user/bob/Sent');
    stockAgrees('-m', 'shared');
    await client('-A');
    stockAgrees('-A');

    // -R -f: a copy of the channel log, replayed without touching the log itself.
    await deliver(lab, 'alice', 2, { start: 10 });
    await imap(lab.master, 'bob', 'SELECT Sent', 'STORE 1 +FLAGS (\\Answered)', 'CREATE Lists', 'UNSUBSCRIBE Trash');
    await putSieve(lab, 'carol', 'require ["fileinto"];\r\nfileinto "Sent";\r\n');
    const file = path.join(lab.dir, 'replay.log');
    fs.copyFileSync(path.join(lab.syncLogDir(), 'log'), file);
    fs.chmodSync(file, 0o644);
    await client('-R', '-f', file);
    stockAgrees('-A');

    // -R -1: drain the channel log once.
    await imap(lab.master, 'alice', 'RENAME Projects Archive', 'DELETE Trash', 'SELECT INBOX', 'STORE 2 +FLAGS (\\Deleted)', 'EXPUNGE');
    await imap(lab.master, null, 'RENAME "user/carol/Sent" "user/bob/From Carol"', 'SETQUOTA "user/carol" (STORAGE 80000)');
    await client('-R', '-1');
    assert.ok(drained(lab), 'the channel log was consumed');
    stockAgrees('-A');

    assert.equal((await compareLab(lab)).differences, []);
    assert.equal(rootOwnedInMaster(lab), [], 'root-owned files in the master');
  } finally {
    await lab.destroy();
  }
});

test.run();
