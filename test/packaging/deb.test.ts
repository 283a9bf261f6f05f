/**
 * packaging/deb/build-deb.sh builds syncmux_<version>_<arch>.deb; it
 * installs with dpkg -i (both commands answer --version from /usr/bin,
 * the man pages and the unit are in place), the installed syncmux-client
 * seeds a real replica, the installed `syncmux run --once` replicates more,
 * and the installed `syncmux verify` then finds them equal
 * (so the package runs as the cyrus user from /usr/lib/syncmux), and dpkg -P
 * leaves nothing behind. Needs root and dpkg; skipped (with the reason) when
 * a syncmux package is already installed, which it must not replace.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CyrusLab } from '../../lab/cyrus-lab.js';
import { compareLab } from '../../lab/compare.js';
import { createUser, deliver } from '../../lab/lab-ops.js';
import { cyrusSkipReason } from '../support/cyrus.js';
import { skip } from '../support/skip.js';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', '..');
const NAME = 'the .deb builds, installs, replicates and purges cleanly';
const version = (JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { version: string }).version;
const INSTALLED = ['/usr/bin/syncmux', '/usr/bin/syncmux-client', '/usr/lib/syncmux', '/lib/systemd/system/syncmux@.service', '/usr/share/man/man8/syncmux.8.gz', '/usr/share/man/man8/syncmux-client.8.gz'];

function run(cmd: string, args: string[]) {
  return spawnSync(cmd, args, { encoding: 'utf8', timeout: 120_000 });
}

function skipReason(): string | null {
  if (process.getuid?.() !== 0) return 'dpkg -i needs root';
  if (run('dpkg-deb', ['--version']).status !== 0) return 'dpkg-deb is not installed';
  if (/^[hi]i/m.test(run('dpkg-query', ['-W', '-f=${db:Status-Abbrev}\n', 'syncmux']).stdout)) return 'a syncmux package is already installed on this machine';
  if (!fs.existsSync(path.join(root, 'dist/bin/syncmux.js'))) return 'dist is not built: run npm run build';
  return cyrusSkipReason();
}

test(NAME, async () => {
  const reason = skipReason();
  if (reason) return skip(NAME, reason);
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'syncmux-deb-'));
  let installed = false;
  try {
    const built = run(path.join(root, 'packaging/deb/build-deb.sh'), [out]);
    assert.is(built.status, 0, built.stderr);
    const deb = built.stdout.trim();
    assert.match(path.basename(deb), new RegExp(`^syncmux_${version.replace(/\./g, '\\.')}_[a-z0-9]+\\.deb$`));

    const install = run('dpkg', ['-i', deb]);
    installed = true;
    assert.is(install.status, 0, install.stdout + install.stderr);
    for (const f of INSTALLED) assert.ok(fs.existsSync(f), `${f} not installed`);
    assert.is(run('/usr/bin/syncmux', ['--version']).stdout, `syncmux ${version}\n`);
    assert.is(run('/usr/bin/syncmux-client', ['--version']).stdout, `syncmux-client ${version}\n`);

    const lab = await CyrusLab.start();
    try {
      for (const u of ['alice', 'bob']) {
        await createUser(lab, u);
        await deliver(lab, u, 3);
      }
      const seed = run('/usr/bin/syncmux-client', ['-C', lab.master.paths.imapdConf, '-n', lab.channel, '-A']);
      assert.is(seed.status, 0, seed.stderr);
      assert.equal((await compareLab(lab)).differences, []);
      // The daemon's shard workers load the installed worker bundle.
      await deliver(lab, 'bob', 2, { start: 10 });
      const daemon = run('/usr/bin/syncmux', ['run', '--once', '--shards', '2', '-C', lab.master.paths.imapdConf, '-n', lab.channel]);
      assert.is(daemon.status, 0, daemon.stdout + daemon.stderr);
      const audit = run('/usr/bin/syncmux', ['verify', '-C', lab.master.paths.imapdConf, '-n', lab.channel, '--all']);
      assert.is(audit.status, 0, audit.stdout + audit.stderr);
    } finally {
      await lab.destroy();
    }

    const purge = run('dpkg', ['-P', 'syncmux']);
    installed = false;
    assert.is(purge.status, 0, purge.stdout + purge.stderr);
    for (const f of INSTALLED) assert.not.ok(fs.existsSync(f), `${f} left behind by dpkg -P`);
  } finally {
    if (installed) run('dpkg', ['-P', 'syncmux']);
    fs.rmSync(out, { recursive: true, force: true });
  }
});

test.run();
