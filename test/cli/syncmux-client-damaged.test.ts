/**
 * Per-user containment on a damaged master store (the project never writes
 * the master; this test damages its lab master deliberately, as root,
 * keeping cyrus:mail ownership): one user's truncated cyrus.index, one
 * user's mailboxes.db entry whose directory is gone, one user's garbage
 * seen DB. `syncmux-client -u` over every user must replicate the healthy
 * ones exactly, report each broken one with a typed error naming the
 * damaged file, and exit 1; `-R -1` over the channel log must replicate
 * the healthy users and re-queue only the broken users' lines.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { loadConfig } from '../../src/cyrus/config.js';
import { Mboxlist } from '../../src/cyrus/mboxlist.js';
import { mailboxDataDir, mailboxMetaFile } from '../../src/cyrus/paths.js';
import { seenPath } from '../../src/cyrus/seen.js';
import { CyrusLab } from '../../lab/cyrus-lab.js';
import { compareLab } from '../../lab/compare.js';
import { createUser, deliver, imap } from '../../lab/lab-ops.js';
import { cyrusSkipReason } from '../support/cyrus.js';
import { skip } from '../support/skip.js';
import { runClient } from './support.js';

const reason = cyrusSkipReason();

test('-u: a truncated cyrus.index, a missing mailbox directory and a garbage seen DB fail only their users', async () => {
  if (reason) return skip('damaged users are contained', reason);
  const lab = await CyrusLab.start();
  try {
    const users = ['alice', 'bob', 'carol', 'dave', 'erin'];
    for (const u of users) {
      await createUser(lab, u);
      await deliver(lab, u, 3);
    }
    // dave keeps seen state for a folder he does not own, so his seen DB exists.
    await imap(lab.master, 'alice', 'SETACL INBOX dave lrs');
    await imap(lab.master, 'dave', 'SELECT "Other Users/alice"', 'STORE 1 +FLAGS (\\Seen)');

    const cfg = loadConfig(lab.master.paths.imapdConf);
    const ml = await Mboxlist.open(cfg);
    const location = (name: string) => {
      const e = ml.lookup(name)!;
      return { name, uniqueid: e.uniqueid, partition: e.partition!, legacyDirs: e.mbtype.legacyDirs };
    };
    const bobIndex = mailboxMetaFile(cfg, location('user.bob'), 'index');
    const carolSent = location('user.carol.Sent');
    const carolSentIndex = mailboxMetaFile(cfg, carolSent, 'index');
    const daveSeen = seenPath(cfg, ml, 'dave');
    assert.ok(fs.existsSync(daveSeen), `dave's seen DB at ${daveSeen}`);

    fs.truncateSync(bobIndex, 100);
    fs.rmSync(mailboxDataDir(cfg, carolSent), { recursive: true });
    if (fs.existsSync(carolSentIndex)) fs.rmSync(carolSentIndex);
    fs.writeFileSync(daveSeen, 'this is not a seen database\n');
    execFileSync('chown', ['cyrus:mail', daveSeen]);

    const r = await runClient(['-C', lab.master.paths.imapdConf, '-n', lab.channel, '-v', '-u', ...users]);
    const out = r.stdout + r.stderr;
    assert.is(r.status, 1, out);
    const failed = (u: string): string => out.split('\n').find((l) => l.includes(`user replication failed: ${u}:`)) ?? '';
    assert.match(failed('bob'), bobIndex, out);
    assert.match(failed('bob'), /IndexFormatError|cyrus\.index: header of v\d+ needs/);
    assert.match(failed('carol'), carolSentIndex, out);
    assert.match(failed('dave'), daveSeen, out);
    for (const u of ['bob', 'carol', 'dave']) console.log(`  ${failed(u)}`);
    assert.is(failed('alice'), '');
    assert.is(failed('erin'), '');
    assert.equal((await compareLab(lab, ['alice', 'erin'])).differences, []);

    // Rolling: the channel log holds every change since the users were made.
    for (const u of ['alice', 'erin']) await deliver(lab, u, 2, { start: 10 });
    await imap(lab.master, 'dave', 'SELECT "Other Users/alice"', 'STORE 2 +FLAGS (\\Seen)');
    const rolling = await runClient(['-C', lab.master.paths.imapdConf, '-n', lab.channel, '-v', '-R', '-1']);
    assert.is(rolling.status, 0, rolling.stdout + rolling.stderr);
    assert.equal((await compareLab(lab, ['alice', 'erin'])).differences, []);
    const requeued = fs.readFileSync(path.join(lab.syncLogDir(), 'log'), 'latin1').split('\n').filter(Boolean);
    const owners = new Set(requeued.map((l) => /^SEEN (\w+)/.exec(l)?.[1] ?? /user\.(\w+)/.exec(l)?.[1]));
    assert.equal([...owners].sort(), ['bob', 'carol', 'dave'], requeued.join('\n'));
  } finally {
    await lab.destroy();
  }
});

test.run();
