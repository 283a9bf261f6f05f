import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { CyrusLab } from '../../lab/cyrus-lab.js';
import { compareLab } from '../../lab/compare.js';
import { appendTo, createUser, deliver, imap, withImap } from '../../lab/lab-ops.js';
import { skip } from '../support/skip.js';
import { cyrusSkipReason } from '../support/cyrus.js';
import { engineFor, type EngineUnderTest } from './support.js';

const reason = cyrusSkipReason();
let lab: CyrusLab | null = null;
let eut: EngineUnderTest | null = null;

test.before(async () => {
  if (reason) return;
  lab = await CyrusLab.start();
  eut = engineFor(lab);
});
test.after(async () => {
  await eut?.engine.close();
  await lab?.destroy();
});

async function drainAndCompare(what: string, users?: string[]) {
  const r = await eut!.drain();
  assert.equal(r.failed, [], `${what}: failures\n${eut!.logs.join('\n')}`);
  assert.equal(r.malformed, []);
  const cmp = await compareLab(lab!, users);
  assert.equal(cmp.differences, [], `${what}:\n${eut!.logs.slice(-20).join('\n')}`);
}

const scenario = (name: string, fn: () => Promise<void>) =>
  test(name, async () => {
    if (reason || !lab) return skip(name, reason ?? 'no lab');
    await fn();
  });

scenario('new user with folders and mail', async () => {
  await createUser(lab!, 'alice');
  await deliver(lab!, 'alice', 3);
  await appendTo(lab!, 'alice', 'Sent', 2, '\\Seen');
  await drainAndCompare('new user');
});

scenario('append', async () => {
  await deliver(lab!, 'alice', 2, { start: 10 });
  await drainAndCompare('append');
});

scenario('flags and keywords; expunge', async () => {
  await imap(lab!.master, 'alice', 'SELECT INBOX', 'UID STORE 1:2 +FLAGS (\\Flagged $Work)', 'UID STORE 3 +FLAGS (\\Deleted)', 'EXPUNGE');
  await drainAndCompare('flags');
});

scenario('folder create, nested rename, non-ASCII and spaces, delete', async () => {
  await imap(lab!.master, 'alice', 'CREATE Projects', 'CREATE Projects/2024', 'CREATE "My Folder"', 'CREATE "&AOk-t&AOk-"');
  await drainAndCompare('create');
  await imap(lab!.master, 'alice', 'RENAME Projects Archive', 'RENAME "My Folder" "Your Folder &AOk-"');
  await drainAndCompare('rename');
  await imap(lab!.master, 'alice', 'DELETE Trash');
  await drainAndCompare('delete');
});

scenario('seen by another user; subscribe and unsubscribe; quota; metadata; ACL', async () => {
  await createUser(lab!, 'bob', []);
  await imap(lab!.master, 'alice', 'SETACL INBOX bob lrs');
  await imap(lab!.master, 'bob', 'SELECT "Other Users/alice"', 'UID STORE 1 +FLAGS (\\Seen)');
  await imap(lab!.master, 'alice', 'SUBSCRIBE Archive', 'UNSUBSCRIBE Sent');
  await imap(lab!.master, null, 'SETQUOTA "user/alice" (STORAGE 50000)');
  await imap(lab!.master, 'alice', 'SETMETADATA INBOX (/private/comment "mine" /shared/comment "ours")');
  await drainAndCompare('meta');
});

scenario('cross-user folder move', async () => {
  await imap(lab!.master, null, 'RENAME "user/alice/Archive/2024" "user/bob/From Alice"');
  await drainAndCompare('cross-user');
});

scenario('shared mailboxes: mail, flags, expunge, rename, nesting, no read right', async () => {
  await imap(lab!.master, null, 'CREATE "team"', 'SETACL "team" admin lrswipkxtecda', 'SETACL "team" anyone lrs');
  await withImap(lab!.master, null, async (c) => {
    for (let i = 0; i < 3; i++) await c.append('"team"', Buffer.from(`Subject: team ${i}\r\n\r\nbody ${i}\r\n`), '\\Flagged');
  });
  await imap(lab!.master, null, 'CREATE "top/a/b"', 'CREATE "closed"', 'SETACL "closed" anyone ""');
  await drainAndCompare('shared create');
  await imap(lab!.master, null, 'SELECT "team"', 'UID STORE 2 +FLAGS (\\Deleted)', 'EXPUNGE', 'RENAME "team" "team-2024"');
  await drainAndCompare('shared rename');
});

scenario('a 12 MB message and an 8-bit one with literal-like text', async () => {
  await deliver(lab!, 'alice', 1, { size: 12 * 1024 * 1024, start: 100 });
  const body = Buffer.concat([
    Buffer.from('Subject: latin\r\nContent-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: 8bit\r\n\r\n'),
    Buffer.from([0xe9, 0xe8, 0x41, 0xff, 0x0d, 0x0a]),
    Buffer.from('{5}\r\nnot a literal ) ( "x\r\n'),
  ]);
  await withImap(lab!.master, 'alice', (c) => c.append('Sent', body));
  await drainAndCompare('big and 8-bit');
});

scenario('stock sync_client -u finds nothing left to send', async () => {
  for (const user of ['alice', 'bob']) {
    const r = lab!.stockSyncClient(['-v', '-v', '-u', user], { check: false });
    assert.is(r.status, 0, r.stderr);
    const sent = r.stderr.split('\n').filter((l) => /^>\d+>APPLY (MESSAGE|MAILBOX|RENAME|UNMAILBOX)/.test(l));
    assert.equal(sent.map((l) => l.slice(0, 120)), [], `stock found work for ${user}`);
  }
});

scenario('user delete', async () => {
  await imap(lab!.master, null, 'SETACL "user/bob" admin lrswipkxtecda', 'DELETE "user/bob"');
  await drainAndCompare('unuser');
});

test.run();
