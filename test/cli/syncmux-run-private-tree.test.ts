// `syncmux run` started as root from a tree the cyrus user cannot read (a
// clone under /root, mode 0700): the workers load their code before the
// daemon becomes cyrus, so it replicates, and it warns that a worker that
// dies could not restart. A worker that cannot load its code at all makes
// `run` exit 1 at once, naming the error, instead of restarting forever.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CyrusLab } from '../../lab/cyrus-lab.js';
import { compareLab } from '../../lab/compare.js';
import { createUser, deliver, imap } from '../../lab/lab-ops.js';
import { skip } from '../support/skip.js';
import { cyrusSkipReason } from '../support/cyrus.js';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', '..');
const RUNTIME = ['dist', 'package.json', 'binding.gyp', 'build/Release/syncmux.node', 'node_modules/node-gyp-build'];

function notBuilt(): string | null {
  for (const file of RUNTIME) if (!fs.existsSync(path.join(root, file))) return `${file} is missing: run npm run build (./dev test does)`;
  return null;
}

/** What an installed syncmux needs at run time, copied under a fresh mode-0700 directory. */
function privateCopy(): { top: string; tree: string } {
  const top = fs.mkdtempSync(path.join(os.tmpdir(), 'syncmux-private-'));
  fs.chmodSync(top, 0o700);
  const tree = path.join(top, 'syncmux');
  for (const entry of RUNTIME) fs.cpSync(path.join(root, entry), path.join(tree, entry), { recursive: true, preserveTimestamps: true });
  return { top, tree };
}

function runOnce(tree: string, lab: CyrusLab) {
  return spawnSync(process.execPath, [path.join(tree, 'dist/bin/syncmux.js'), 'run', '--once', '-v', '-C', lab.master.paths.imapdConf, '-n', lab.channel, '--shards', '2'], {
    encoding: 'utf8',
    timeout: 120_000,
  });
}

const PRIVATE = 'syncmux run from a tree closed to cyrus replicates, and warns that workers could not restart';
test(PRIVATE, async () => {
  const reason = cyrusSkipReason() ?? notBuilt();
  if (reason) return skip(PRIVATE, reason);
  const { top, tree } = privateCopy();
  const lab = await CyrusLab.start();
  try {
    for (const u of ['alice', 'bob', 'carol']) {
      await createUser(lab, u);
      await deliver(lab, u, 2);
    }
    await imap(lab.master, 'bob', 'CREATE Projects');
    const run = runOnce(tree, lab);
    const output = run.stdout + run.stderr;
    assert.is(run.status, 0, output);
    assert.match(output, `${top} (mode 0700) is closed to uid`);
    assert.match(output, 'one that dies cannot restart');
    assert.equal((await compareLab(lab)).differences, []);
  } finally {
    await lab.destroy();
    fs.rmSync(top, { recursive: true, force: true });
  }
});

const BROKEN = 'syncmux run whose worker cannot load its code exits 1 at once, naming the error';
test(BROKEN, async () => {
  const reason = cyrusSkipReason() ?? notBuilt();
  if (reason) return skip(BROKEN, reason);
  const { top, tree } = privateCopy();
  const worker = path.join(tree, 'dist/worker-bundle/shard/worker.js');
  fs.writeFileSync(worker, 'throw new Error("worker code is broken");\n');
  const lab = await CyrusLab.start();
  try {
    await createUser(lab, 'alice');
    const started = Date.now();
    const run = runOnce(tree, lab);
    const output = run.stdout + run.stderr;
    assert.is(run.status, 1, output);
    assert.ok(Date.now() - started < 30_000, `took ${Date.now() - started} ms`);
    assert.match(output, /syncmux run: shard \d could not load its code: worker code is broken/);
  } finally {
    await lab.destroy();
    fs.rmSync(top, { recursive: true, force: true });
  }
});

test.run();
