/**
 * The daemon's background audit (syncmux_verify_rate > 0): with a short
 * syncmux_verify_interval it completes passes that find nothing on a
 * healthy pair; then a subscription dropped on the replica and a folder
 * created only there are found, shown by `syncmux status` and `syncmux
 * metrics`; with syncmux_verify_repair each user's full resync is requested,
 * the daemon's resync subscribes the first user again and the audit clears
 * it, while the replica-only folder (which a resync, as stock, does not
 * delete) stays reported. (A change that raises the replica's modseq, such
 * as an expunge there, is repaired by Cyrus's own copyback, whose direction
 * is Cyrus's split-brain rule; test/cli/syncmux-verify.test.ts covers
 * finding those.)
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { CyrusLab } from '../../lab/cyrus-lab.js';
import { createUser, deliver, imap } from '../../lab/lab-ops.js';
import { readStatus } from '../../src/cli/run-daemon.js';
import { cyrusSkipReason } from '../support/cyrus.js';
import { SYNCMUX, startDaemon, stopDaemon, waitChannelDrained, waitFor } from '../support/daemon.js';
import { skip } from '../support/skip.js';

const NAME = 'syncmux run audits the replica in the background, reports and repairs';
const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', '..');

test(NAME, async () => {
  const reason = cyrusSkipReason();
  if (reason) return skip(NAME, reason);
  const lab = await CyrusLab.start({ masterExtra: ['syncmux_verify_rate: 50', 'syncmux_verify_interval: 1', 'syncmux_verify_repair: yes'] });
  const cli = (cmd: string) => spawnSync(process.execPath, ['--import', 'tsx', SYNCMUX, cmd, '-C', lab.master.paths.imapdConf, '-n', lab.channel], { cwd: root, encoding: 'utf8' });
  const audit = () => readStatus(lab.syncLogDir())?.verify;
  const daemon = startDaemon(lab, 2);
  try {
    for (const u of ['alice', 'bob', 'carol']) {
      await createUser(lab, u);
      await deliver(lab, u, 3);
    }
    await waitChannelDrained(lab);
    // The shards watch no directory: the splitter's watch hands them a new control file at once, not at their 10 s poll.
    const request = path.join(lab.syncLogDir(), 'resyncuser-carol');
    fs.writeFileSync(request, '');
    spawnSync('chown', ['cyrus:mail', request]);
    const asked = Date.now();
    await waitFor('the shard to take resyncuser-carol', () => !fs.existsSync(request), 5000);
    assert.ok(Date.now() - asked < 5000, `resyncuser-carol taken after ${Date.now() - asked} ms`);
    const cyclesBefore = audit()?.cycles ?? 0;
    await waitFor('two clean audit passes', () => (audit()?.cycles ?? 0) >= cyclesBefore + 2, 60_000);
    assert.is(audit()!.divergingCount, 0, JSON.stringify(audit()));
    assert.is(audit()!.lastError, null);

    await imap(lab.replica, 'alice', 'UNSUBSCRIBE Sent');
    await imap(lab.replica, null, 'CREATE "user/bob/Only-Here"');
    await waitFor('the audit to report bob', () => !!audit()?.diverging.some((d) => d.user === 'bob'), 60_000);
    await waitFor('the audit to request alice\'s resync', () => (audit()?.resyncsRequested ?? 0) >= 1, 60_000);
    // The daemon's resync subscribes alice again; a later pass clears her.
    await waitFor('alice to be clean again', () => {
      const v = audit();
      return !!v && !v.diverging.some((d) => d.user === 'alice') && v.diverging.some((d) => d.user === 'bob');
    }, 90_000, 500);

    const status = cli('status');
    assert.match(status.stdout, /verify: cycle \d+, \d+ of 3 checked, 1 diverging user\(s\)/, `${status.stdout}\n--- daemon:\n${daemon.output()}`);
    assert.match(status.stdout, /bob: mailbox-only-on-replica user\.bob\.Only-Here/);
    const metrics = cli('metrics');
    assert.match(metrics.stdout, /^syncmux_verify_diverging_users\{channel="replica"\} 1$/m, metrics.stdout);
    assert.match(metrics.stdout, /^syncmux_verify_failing\{channel="replica"\} 0$/m);
    assert.match(metrics.stdout, /^syncmux_verify_resyncs_total\{channel="replica"\} [1-9]/m);
  } finally {
    const code = await stopDaemon(daemon);
    await lab.destroy();
    assert.is(code, 75, daemon.output());
  }
});

test.run();
