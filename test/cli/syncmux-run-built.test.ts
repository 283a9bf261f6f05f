// `syncmux run` as installed: the package's bin, dist/bin/syncmux.js (one
// esbuild bundle of the CLI), whose shard workers load the esbuild bundle of
// worker and engine (src/shard/worker-bundle.ts). The other CLI tests run the
// TypeScript sources, which never use the bundles.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { CyrusLab } from '../../lab/cyrus-lab.js';
import { compareLab } from '../../lab/compare.js';
import { appendTo, createUser, deliver, imap } from '../../lab/lab-ops.js';
import { skip } from '../support/skip.js';
import type * as WorkerBundle from '../../src/shard/worker-bundle.js';
import { cyrusSkipReason } from '../support/cyrus.js';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', '..');
const dist = path.join(root, 'dist');
const NAME = 'syncmux run from dist/bin: shard workers run the bundled engine and replicate';

function notBuilt(): string | null {
  for (const file of ['bin/syncmux.js', 'shard/worker-bundle.js', 'worker-bundle/shard/worker.js', 'worker-bundle/engine/shard-replicator.js']) {
    if (!fs.existsSync(path.join(dist, file))) return `dist/${file} is missing: run npm run build (./dev test does)`;
  }
  return null;
}

test(NAME, async () => {
  const reason = cyrusSkipReason() ?? notBuilt();
  if (reason) return skip(NAME, reason);
  // The built daemon picks the bundle while it is newer than the modules it came from.
  const bundle = (await import(pathToFileURL(path.join(dist, 'shard/worker-bundle.js')).href)) as typeof WorkerBundle;
  const modules = pathToFileURL(path.join(dist, 'engine/shard-replicator.js'));
  const engine = bundle.engineModule(modules);
  assert.is(engine.href, pathToFileURL(path.join(dist, 'worker-bundle/engine/shard-replicator.js')).href);
  assert.is(bundle.workerScript(engine.href, new URL('file:///modules/worker.js')).href, pathToFileURL(path.join(dist, 'worker-bundle/shard/worker.js')).href);
  assert.is(bundle.workerScript(modules.href, new URL('file:///modules/worker.js')).href, 'file:///modules/worker.js');

  const lab = await CyrusLab.start();
  try {
    const users = ['alice', 'bob', 'carol', 'dave'];
    for (const u of users) await createUser(lab, u);
    for (const u of users) await deliver(lab, u, 3);
    await appendTo(lab, 'bob', 'Sent', 2, '\\Seen');
    await imap(lab.master, 'carol', 'CREATE Projects', 'SELECT INBOX', 'UID STORE 1 +FLAGS (\\Flagged)');
    const run = spawnSync(path.join(dist, 'bin/syncmux.js'), ['run', '--once', '-C', lab.master.paths.imapdConf, '-n', lab.channel, '--shards', '2'], { encoding: 'utf8', timeout: 120_000 });
    assert.is(run.status, 0, run.stdout + run.stderr);
    assert.equal((await compareLab(lab)).differences, []);
  } finally {
    await lab.destroy();
  }
});

test.run();
