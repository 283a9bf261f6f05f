// syncmux-client as installed: the package's bin is one esbuild bundle
// (dist/bin/syncmux-client.js), which loads in about a third of the CPU of
// ~100 separate modules. The other CLI tests run the TypeScript sources.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { CyrusLab } from '../../lab/cyrus-lab.js';
import { compareLab } from '../../lab/compare.js';
import { appendTo, createUser, deliver, imap } from '../../lab/lab-ops.js';
import { skip } from '../support/skip.js';
import { cyrusSkipReason } from '../support/cyrus.js';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', '..');
const BIN = path.join(root, 'dist', 'bin', 'syncmux-client.js');
const NAME = 'syncmux-client from dist/bin (the bundle): usage, user sync and rolling pass replicate';

function notBuilt(): string | null {
  return fs.existsSync(BIN) ? null : 'dist/bin/syncmux-client.js is missing: run npm run build (./dev test does)';
}

test(NAME, async () => {
  const reason = cyrusSkipReason() ?? notBuilt();
  if (reason) return skip(NAME, reason);
  const packageJson = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { bin: Record<string, string> };
  assert.is(path.join(root, packageJson.bin['syncmux-client']!), BIN, 'the package bin is the bundle');
  assert.ok((fs.statSync(BIN).mode & 0o111) !== 0, 'the bundle is executable');

  const usage = spawnSync(BIN, ['-X'], { encoding: 'utf8' });
  assert.is(usage.status, 64, usage.stderr);
  assert.match(usage.stderr, /invalid option -- 'X'/);

  const lab = await CyrusLab.start();
  try {
    const client = (...args: string[]) => spawnSync(BIN, ['-C', lab.master.paths.imapdConf, '-n', lab.channel, ...args], { encoding: 'utf8', timeout: 120_000 });
    for (const u of ['alice', 'bob']) await createUser(lab, u, ['Sent']);
    await deliver(lab, 'alice', 3);
    const users = client('-u', 'alice', 'bob');
    assert.is(users.status, 0, users.stdout + users.stderr);
    fs.rmSync(path.join(lab.syncLogDir(), 'log'), { force: true });

    await deliver(lab, 'bob', 2);
    await appendTo(lab, 'alice', 'Sent', 2, '\\Seen');
    await imap(lab.master, 'bob', 'CREATE Projects', 'SELECT INBOX', 'UID STORE 1 +FLAGS (\\Flagged)');
    const rolling = client('-R', '-1');
    assert.is(rolling.status, 0, rolling.stdout + rolling.stderr);
    assert.equal((await compareLab(lab)).differences, []);
  } finally {
    await lab.destroy();
  }
});

test.run();
