/**
 * The "missing lock file" situation on a real master. The reader never
 * creates Cyrus lock files (a root-created one would break Cyrus), so it
 * depends on them existing. Observed here: they survive a cyrmaster
 * restart (nothing in 3.6.1's startup removes them); they vanish when the
 * lock directory is emptied, which is what Debian's stock
 * `mboxname_lockpath: /run/cyrus/lock` (a tmpfs) does at every reboot —
 * then a snapshot fails until Cyrus itself touches that mailbox again.
 */
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { entryState, loadConfig, LockError, lockFile, Mboxlist, takeMailboxSnapshot, userNamespaceLockName } from '../../src/cyrus/index.js';
import { CyrusLab } from '../../lab/cyrus-lab.js';
import { createUser, deliver, imap } from '../../lab/lab-ops.js';
import { skip } from '../support/skip.js';
import { cyrusSkipReason } from '../support/cyrus.js';
import { lockFiles } from './support/reader-view.js';

const reason = cyrusSkipReason();

test('lock files across a master restart, and after the lock dir is emptied (tmpfs after reboot)', async () => {
  if (reason) return skip('lock files across restarts', reason);
  const lab = await CyrusLab.start();
  try {
    await createUser(lab, 'carol', ['Archive']);
    await deliver(lab, 'carol', 2);
    const cfg = loadConfig(lab.master.paths.imapdConf);
    const live = [...(await Mboxlist.open(cfg)).entries()].filter((e) => entryState(e) === 'live').map((e) => e.name);
    assert.equal(live, ['user.carol', 'user.carol.Archive']);
    const before = lockFiles(cfg);
    assert.ok(before.includes(path.basename(lockFile(cfg, userNamespaceLockName('carol')))), before.join(' '));

    await lab.restart(lab.master);
    assert.equal(lockFiles(cfg), before, 'a restart keeps every lock file');
    for (const name of live) (await takeMailboxSnapshot(cfg, name)).release();

    // A reboot with the lock dir on tmpfs: stop, empty it, start.
    await lab.stopInstance(lab.master);
    for (const f of fs.readdirSync(cfg.lockDirectory)) fs.rmSync(path.join(cfg.lockDirectory, f), { recursive: true });
    await lab.restart(lab.master);
    const afterBoot = lockFiles(cfg);
    assert.not.ok(afterBoot.some((f) => f.includes('carol')), `startup recreates none of carol's: ${afterBoot.join(' ')}`);
    const err = await takeMailboxSnapshot(cfg, 'user.carol').then(() => null, (e: unknown) => e);
    assert.instance(err, LockError);
    assert.is((err as LockError).errno, 'ENOENT');
    assert.equal(lockFiles(cfg), afterBoot, 'the reader created no lock file');

    // Cyrus recreates them on its next open of the mailbox; then the reader works again.
    await imap(lab.master, 'carol', 'EXAMINE INBOX');
    (await takeMailboxSnapshot(cfg, 'user.carol')).release();
    const archive = await takeMailboxSnapshot(cfg, 'user.carol.Archive').then(() => 'ok', (e: LockError) => e.errno);
    assert.is(archive, 'ENOENT', 'a mailbox Cyrus has not opened since stays unreadable');
  } finally {
    await lab.destroy();
  }
});

test.run();
