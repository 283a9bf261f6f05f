/**
 * `syncmux verify` against a real master + replica: a healthy pair (after
 * `syncmux-client -A`) has no divergence and exit 0; each divergence made
 * on purpose on the replica over admin IMAP (an expunge, a flag, a folder
 * only there, a dropped annotation, a quota, a subscription) is named, exit 1; with -v -v on the
 * replica's side nothing but GETs were sent (the read-only guard refuses any
 * APPLY anyway); --repair writes the daemon's resync request; --json parses.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { ADMIN, CyrusLab } from '../../lab/cyrus-lab.js';
import { createUser, deliver, imap } from '../../lab/lab-ops.js';
import { ManageSieve } from '../cyrus/support/managesieve.js';
import { cyrusSkipReason } from '../support/cyrus.js';
import { SYNCMUX } from '../support/daemon.js';
import { skip } from '../support/skip.js';
import { runClient } from './support.js';

const reason = cyrusSkipReason();
const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', '..');

function verify(lab: CyrusLab, ...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', SYNCMUX, 'verify', '-C', lab.master.paths.imapdConf, '-n', lab.channel, ...args], { cwd: root, encoding: 'utf8', timeout: 120_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

async function putSieve(lab: CyrusLab, user: string, script: string): Promise<void> {
  const s = await ManageSieve.login(lab.master.ports.sieve!, ADMIN.user, ADMIN.password, user);
  try {
    await s.putScript('main', script);
    await s.setActive('main');
  } finally {
    await s.logout();
  }
}

test('verify finds each divergence made on the replica, and none on a healthy pair', async () => {
  if (reason) return skip('syncmux verify against a real replica', reason);
  const lab = await CyrusLab.start({ sieve: true });
  try {
    for (const u of ['alice', 'bob', 'carol', 'dave']) {
      await createUser(lab, u);
      await deliver(lab, u, 4);
    }
    await imap(lab.master, 'dave', 'SETMETADATA INBOX (/shared/comment "keep me")');
    await imap(lab.master, null, 'SETQUOTA "user/carol" (STORAGE 50000)', 'CREATE "shared"');
    // What a healthy pair holds beyond plain folders must not read as a divergence: a delayed-delete
    // DELETED.* folder, a renamed one, a non-owner's seen state, private annotations, a sieve script.
    await imap(lab.master, 'carol', 'DELETE Trash', 'RENAME Drafts Outbox', 'SETACL INBOX bob lrs', 'SETMETADATA INBOX (/private/comment "mine")');
    await imap(lab.master, 'bob', 'SELECT "Other Users/carol"', 'STORE 2 +FLAGS (\\Seen)');
    await putSieve(lab, 'dave', 'keep;\r\n');
    const seeded = await runClient(['-C', lab.master.paths.imapdConf, '-n', lab.channel, '-A']);
    assert.is(seeded.status, 0, seeded.stderr);

    const healthy = verify(lab, '--all');
    assert.is(healthy.status, 0, healthy.stdout + healthy.stderr);
    assert.match(healthy.stdout, /verified 5 user\(s\): 0 divergence\(s\) in 0 user\(s\)/);

    // Divergences made directly on the replica, as its admin (for a user where a mailbox must be selected).
    await imap(lab.replica, 'alice', 'SELECT INBOX', 'STORE 2 +FLAGS (\\Deleted)', 'EXPUNGE');
    await imap(lab.replica, 'bob', 'SELECT INBOX', 'STORE 1 +FLAGS (\\Flagged)');
    await imap(lab.replica, null, 'CREATE "user/carol/Only-Here"');
    await imap(lab.replica, null, 'SETMETADATA "user/dave" (/shared/comment NIL)');
    await imap(lab.replica, null, 'SETQUOTA "user/carol" (STORAGE 90000)');
    await imap(lab.replica, 'alice', 'UNSUBSCRIBE Sent');

    const found = verify(lab, '--all');
    assert.is(found.status, 1, found.stdout + found.stderr);
    const lines = found.stdout.split('\n');
    const has = (re: RegExp, what: string) => assert.ok(lines.some((l) => re.test(l)), `${what} not reported:\n${found.stdout}`);
    has(/^alice: mailbox-state user\.alice: .*HIGHESTMODSEQ.*SYNC_CRC master=/, 'the expunge on the replica');
    has(/^bob: mailbox-state user\.bob: .*HIGHESTMODSEQ.*SYNC_CRC master=/, 'the flag changed on the replica');
    has(/^carol: mailbox-only-on-replica user\.carol\.Only-Here: /, 'the folder created on the replica');
    has(/^dave: mailbox-state user\.dave: .*ANNOTATIONS master=\/shared\/comment=7B replica=\(none\)/, 'the dropped annotation');
    has(/^carol: quota user\.carol: master STORAGE=50000 replica STORAGE=90000$/, 'the quota changed on the replica');
    has(/^alice: subscription user\.alice\.Sent: subscribed on the master only$/, 'the subscription dropped on the replica');
    assert.match(found.stdout, /verified 5 user\(s\): \d+ divergence\(s\) in 4 user\(s\)/);
    assert.not.ok(lines.some((l) => l.startsWith('@:')), `shared mailboxes diverge:\n${found.stdout}`);

    // One user, JSON, --repair: the daemon's resync requests, and no APPLY on the wire.
    const one = verify(lab, '--user', 'bob', '--json', '--repair');
    assert.is(one.status, 1, one.stderr);
    const doc = JSON.parse(one.stdout) as { checked: string[]; diverging: string[]; resyncQueued: string[] };
    assert.equal(doc.checked, ['bob']);
    assert.equal(doc.diverging, ['bob']);
    assert.equal(doc.resyncQueued, ['bob']);
    assert.ok(fs.existsSync(path.join(lab.syncLogDir(), 'resyncuser-bob')), 'no resync request written');

    const clean = verify(lab, '--user', 'nobody-here');
    assert.is(clean.status, 0, clean.stdout + clean.stderr);
    assert.is(verify(lab).status, 64);
    assert.is(verify(lab, '--user', 'bob', '--all').status, 64);
  } finally {
    await lab.destroy();
  }
});

test.run();
