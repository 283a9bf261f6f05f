/**
 * syncmux under the master's own cyrmaster, as a cyrus.conf DAEMON entry
 * (the installed bundles from dist/bin): `syncmux-client -r` and `syncmux
 * run`. cyrmaster runs a DAEMON in the foreground with CYRUS_ISDAEMON=1 set,
 * so `-r` must not fork (as stock's sync_client: it forks only without that
 * variable); the test checks that exactly one process runs, that it
 * replicates until master and replica are EQUAL, that cyrmaster restarts it
 * after a SIGKILL and after a SIGHUP (which stock, under cyrmaster, takes as a
 * clean stop) and replication goes on, and that it is gone once cyrmaster
 * has shut down.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import path from 'node:path';
import { CyrusLab, pidsWithArgument } from '../../lab/cyrus-lab.js';
import { compareLab } from '../../lab/compare.js';
import { createUser, deliver, imap } from '../../lab/lab-ops.js';
import { cyrusSkipReason } from '../support/cyrus.js';
import { sleep, waitChannelDrained, waitFor } from '../support/daemon.js';
import { skip } from '../support/skip.js';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', '..');

/** A process's command line; '' once it has exited (it may, between listing and reading). */
function cmdline(pid: number): string {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return '';
  }
}

function skipReason(bin: string): string | null {
  return cyrusSkipReason() ?? (fs.existsSync(path.join(root, 'dist/bin', bin)) ? null : `dist/bin/${bin} is missing: run npm run build (./dev test does)`);
}

for (const [bin, args] of [
  ['syncmux-client.js', ['-r']],
  ['syncmux.js', ['run', '--shards', '2']],
] as const) {
  const script = path.join(root, 'dist/bin', bin);
  const name = `cyrmaster runs ${bin} ${args.join(' ')} as a DAEMON: one process, restarted when killed, stopped on shutdown`;
  test(name, async () => {
    const reason = skipReason(bin);
    if (reason) return skip(name, reason);
    // @CONF@: the harness writes the master's imapd.conf path there.
    const lab = await CyrusLab.start({ masterDaemons: [{ name: 'syncclient', cmd: `${script} ${bin === 'syncmux.js' ? 'run ' : ''}-C @CONF@ -n replica ${args.filter((a) => a !== 'run').join(' ')}` }] });
    const ours = () => pidsWithArgument(script).filter((pid) => cmdline(pid).includes(lab.master.paths.imapdConf));
    try {
      await waitFor(`cyrmaster to start ${bin}`, () => ours().length === 1, 30_000);
      const first = ours()[0]!;
      await sleep(1500);
      assert.equal(ours(), [first], 'the DAEMON forked or was restarted: cyrmaster must see one long-lived process');

      const users = ['alice', 'bob', 'carol'];
      for (const u of users) await createUser(lab, u);
      for (const u of users) await deliver(lab, u, 3);
      await imap(lab.master, 'bob', 'CREATE Projects', 'SELECT INBOX', 'STORE 1 +FLAGS (\\Flagged)');
      await waitChannelDrained(lab);
      assert.equal((await compareLab(lab)).differences, [], 'not EQUAL under cyrmaster');

      process.kill(first, 'SIGKILL');
      await waitFor('cyrmaster to restart the killed DAEMON', () => ours().some((p) => p !== first), 30_000);
      await deliver(lab, 'carol', 2, { start: 10 });
      await imap(lab.master, 'alice', 'CREATE Later');
      await waitChannelDrained(lab);
      assert.equal((await compareLab(lab)).differences, [], 'not EQUAL after the restart');

      // cyrmaster passes SIGHUP (reread cyrus.conf) on: a clean stop, then a restart.
      const second = ours()[0]!;
      process.kill(second, 'SIGHUP');
      await waitFor('cyrmaster to restart the DAEMON after SIGHUP', () => ours().length === 1 && ours()[0] !== second, 30_000);
      await deliver(lab, 'bob', 2, { start: 20 });
      await waitChannelDrained(lab);
      assert.equal((await compareLab(lab)).differences, [], 'not EQUAL after SIGHUP');

      const running = ours();
      await lab.stop();
      await waitFor('the DAEMON to stop with cyrmaster', () => running.every((p) => !fs.existsSync(`/proc/${p}`)), 20_000);
    } finally {
      await lab.destroy();
    }
  });
}

test.run();
