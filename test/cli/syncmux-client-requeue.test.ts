/**
 * Failure isolation in the drop-in's rolling pass: one user's replica INBOX
 * is made unreadable for the cyrus user (chmod 000 on its spool directory;
 * sync_server then answers NO for that user only). A pass must replicate
 * the other users, re-queue exactly the failed batches' lines to the log
 * (each distinct line once, as the pass keeps it), and remove log-run; once
 * the fault is repaired the next pass replicates the rest.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import path from 'node:path';
import { CyrusLab } from '../../lab/cyrus-lab.js';
import { compareLab } from '../../lab/compare.js';
import { createUser, deliver } from '../../lab/lab-ops.js';
import { cyrusSkipReason } from '../support/cyrus.js';
import { skip } from '../support/skip.js';
import { runClient } from './support.js';

const NAME = 'syncmux-client -R: a failing user\'s lines are re-queued to the log, the others replicate';

test(NAME, async () => {
  const reason = cyrusSkipReason();
  if (reason) return skip(NAME, reason);
  const lab = await CyrusLab.start();
  let replicaDir: string | null = null;
  let mode = 0;
  try {
    const client = (...args: string[]) => runClient(['-C', lab.master.paths.imapdConf, '-n', lab.channel, ...args]);
    for (const u of ['bad', 'good1', 'good2']) {
      await createUser(lab, u);
      await deliver(lab, u, 1);
    }
    const first = await client('-R', '-1');
    assert.is(first.status, 0, first.stderr);
    assert.equal((await compareLab(lab)).differences, []);

    replicaDir = lab.tool(lab.replica, 'mbpath', ['user/bad']).stdout.trim();
    mode = fs.statSync(replicaDir).mode & 0o7777;
    fs.chmodSync(replicaDir, 0);
    for (const u of ['bad', 'good1', 'good2']) await deliver(lab, u, 3, { start: 10 });
    const log = path.join(lab.syncLogDir(), 'log');
    const logged = fs.readFileSync(log, 'latin1').split('\n').filter(Boolean);
    assert.ok(logged.filter((l) => l === 'APPEND user.bad').length >= 3, logged.join('\n'));

    const failing = await client('-R', '-1');
    assert.is(failing.status, 0, failing.stderr);
    assert.equal((await compareLab(lab, ['good1', 'good2'])).differences, []);
    assert.not.ok(fs.existsSync(path.join(lab.syncLogDir(), 'log-run')), 'log-run is removed once every line is confirmed or re-queued');
    assert.equal(fs.readFileSync(log, 'latin1'), 'APPEND user.bad\nMAILBOX user.bad\n', `the failed batch, each distinct line once\n${failing.stderr}`);

    fs.chmodSync(replicaDir, mode);
    replicaDir = null;
    const healed = await client('-R', '-1');
    assert.is(healed.status, 0, healed.stderr);
    assert.equal((await compareLab(lab)).differences, []);
  } finally {
    if (replicaDir) fs.chmodSync(replicaDir, mode);
    await lab.destroy();
  }
});

test.run();
