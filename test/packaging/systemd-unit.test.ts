/**
 * packaging/systemd/syncmux@.service passes `systemd-analyze verify` with
 * no warning (its ExecStart pointed at the built bundle, and its man page
 * found through MANPATH, since neither is installed here), and keeps the
 * properties the README promises: runs as cyrus, restarts on failure, treats
 * syncmux's SIGTERM exit (75) as a clean stop, and is sandboxed.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { skip } from '../support/skip.js';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', '..');
const UNIT = path.join(root, 'packaging/systemd/syncmux@.service');
const NAME = 'syncmux@.service passes systemd-analyze verify';

function skipReason(): string | null {
  if (spawnSync('systemd-analyze', ['--version']).status !== 0) return 'systemd-analyze is not installed (apt-get install systemd; .ci/run does)';
  if (!fs.existsSync(path.join(root, 'dist/bin/syncmux.js'))) return 'dist/bin/syncmux.js is missing: run npm run build';
  if (spawnSync('id', ['cyrus']).status !== 0) return 'no cyrus user (install cyrus-common)';
  return null;
}

test(NAME, () => {
  const text = fs.readFileSync(UNIT, 'utf8');
  const has = (line: string) => assert.ok(text.split('\n').includes(line), `the unit lacks ${line}`);
  for (const line of ['User=cyrus', 'Restart=on-failure', 'SuccessExitStatus=75', 'KillSignal=SIGTERM', 'ProtectSystem=strict',
    'ReadWritePaths=/var/lib/cyrus/sync /var/lib/cyrus/lock', 'NoNewPrivileges=yes', 'ExecStart=/usr/bin/syncmux run -C ${SYNCMUX_CONF} -n %i --shards ${SYNCMUX_SHARDS}']) has(line);
  assert.not.ok(/^MemoryDenyWriteExecute=yes/m.test(text), "Node's JIT cannot run with MemoryDenyWriteExecute");

  const reason = skipReason();
  if (reason) return skip(NAME, reason);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'syncmux-unit-'));
  try {
    fs.writeFileSync(path.join(dir, 'syncmux@.service'), text.replaceAll('/usr/bin/syncmux ', `${path.join(root, 'dist/bin/syncmux.js')} `));
    fs.symlinkSync('syncmux@.service', path.join(dir, 'syncmux@replica.service'));
    const manpath = path.join(dir, 'man');
    fs.mkdirSync(path.join(manpath, 'man8'), { recursive: true });
    fs.copyFileSync(path.join(root, 'packaging/man/syncmux.8'), path.join(manpath, 'man8/syncmux.8'));
    // Without man(1), verify cannot check Documentation=man:…; it then checks the rest.
    const manCheck = spawnSync('man', ['--version']).status === 0 ? [] : ['--man=no'];
    const r = spawnSync('systemd-analyze', ['verify', ...manCheck, path.join(dir, 'syncmux@replica.service')], { encoding: 'utf8', env: { ...process.env, MANPATH: manpath } });
    assert.is(r.status, 0, r.stdout + r.stderr);
    assert.is(r.stderr.trim(), '', `systemd-analyze verify warned:\n${r.stderr}`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
