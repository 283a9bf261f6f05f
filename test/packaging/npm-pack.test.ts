/**
 * `npm pack` makes a tarball that `npm install -g` installs with no
 * compiler: the addon comes as a prebuild (prebuildify, N-API, glibc) that
 * node-gyp-build picks, so cc, c++ and make, stubbed to fail here, are never
 * run. The installed commands then seed a real replica (syncmux-client -A)
 * and replicate more through the daemon's worker bundle (run --once), EQUAL.
 * The tarball is packed from a copy of the tracked files, so the tree under
 * test keeps its own build/ and dist/.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync, type SpawnSyncOptions } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CyrusLab } from '../../lab/cyrus-lab.js';
import { compareLab } from '../../lab/compare.js';
import { createUser, deliver } from '../../lab/lab-ops.js';
import { cyrusSkipReason } from '../support/cyrus.js';
import { skip } from '../support/skip.js';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', '..');
const version = (JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { version: string }).version;
const NAME = 'npm pack gives a tarball that installs without a compiler and replicates';
const COMPILERS = ['cc', 'c++', 'gcc', 'g++', 'clang', 'make'];

function run(cmd: string, args: string[], options: SpawnSyncOptions = {}) {
  return spawnSync(cmd, args, { encoding: 'utf8', timeout: 300_000, ...options }) as { status: number | null; stdout: string; stderr: string };
}

function skipReason(): string | null {
  if (run('git', ['-C', root, 'ls-files', 'package.json']).stdout.trim() !== 'package.json') return 'not a git checkout: the tarball is packed from the tracked files';
  return cyrusSkipReason();
}

/** The tracked files, with node_modules linked in for the build tools. */
function stagingCopy(dir: string): string {
  const stage = path.join(dir, 'stage');
  for (const file of run('git', ['-C', root, 'ls-files', '-z']).stdout.split('\0').filter(Boolean)) {
    if (!fs.existsSync(path.join(root, file))) continue; // deleted in the work tree
    fs.mkdirSync(path.dirname(path.join(stage, file)), { recursive: true });
    fs.copyFileSync(path.join(root, file), path.join(stage, file));
  }
  fs.symlinkSync(path.join(root, 'node_modules'), path.join(stage, 'node_modules'));
  return stage;
}

/** A PATH entry whose compilers and make fail loudly, ahead of the real ones. */
function noCompilers(dir: string): string {
  const bin = path.join(dir, 'no-compiler');
  fs.mkdirSync(bin);
  for (const tool of COMPILERS) fs.writeFileSync(path.join(bin, tool), `#!/bin/sh\necho "${tool} called: the install compiled" >&2\nexit 1\n`, { mode: 0o755 });
  return `${bin}:${process.env.PATH ?? '/usr/bin:/bin'}`;
}

test(NAME, async () => {
  const reason = skipReason();
  if (reason) return skip(NAME, reason);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'syncmux-npm-'));
  fs.chmodSync(dir, 0o755); // the installed commands run as cyrus
  try {
    const stage = stagingCopy(dir);
    const packed = run('npm', ['pack', '--pack-destination', dir], { cwd: stage });
    assert.is(packed.status, 0, packed.stdout + packed.stderr);
    const tarball = path.join(dir, `syncmux-${version}.tgz`);
    const listing = run('tar', ['-tzf', tarball]).stdout.split('\n');
    assert.ok(listing.some((f) => /^package\/prebuilds\/linux-x64\/.+\.node$/.test(f)), 'no linux-x64 prebuild in the tarball');
    assert.not.ok(listing.some((f) => f.startsWith('package/build/')), 'the tarball carries a build/ directory');

    const prefix = path.join(dir, 'prefix');
    const env = { ...process.env, PATH: noCompilers(dir) };
    const install = run('npm', ['install', '--global', '--prefix', prefix, '--prefer-offline', '--no-audit', '--no-fund', tarball], { env });
    assert.is(install.status, 0, install.stdout + install.stderr);
    const installed = path.join(prefix, 'lib/node_modules/syncmux');
    assert.not.ok(fs.existsSync(path.join(installed, 'build')), 'the install compiled the addon');
    for (const [command, name] of [['syncmux', 'syncmux'], ['syncmux-client', 'syncmux-client']]) {
      assert.is(run(path.join(prefix, 'bin', command!), ['--version'], { env }).stdout, `${name} ${version}\n`);
    }

    const lab = await CyrusLab.start();
    try {
      for (const u of ['alice', 'bob']) {
        await createUser(lab, u);
        await deliver(lab, u, 3);
      }
      const conf = ['-C', lab.master.paths.imapdConf, '-n', lab.channel];
      const seed = run(path.join(prefix, 'bin/syncmux-client'), [...conf, '-A'], { env });
      assert.is(seed.status, 0, seed.stderr);
      await deliver(lab, 'bob', 2, { start: 10 });
      const daemon = run(path.join(prefix, 'bin/syncmux'), ['run', '--once', '--shards', '2', ...conf], { env });
      assert.is(daemon.status, 0, daemon.stdout + daemon.stderr);
      assert.equal((await compareLab(lab)).differences, []);
    } finally {
      await lab.destroy();
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
