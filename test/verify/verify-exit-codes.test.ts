/**
 * `syncmux verify`'s exit codes without a replica: 75 when the replica
 * cannot be reached (try again later), 70 without sync_host, 64 on usage
 * errors. The real-replica outcomes (0, 1) are in test/cli/syncmux-verify.test.ts.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePorts } from '../../lab/cyrus-lab.js';
import { SYNCMUX } from '../support/daemon.js';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', '..');

test('75 unreachable, 70 no sync_host, 64 usage', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'syncmux-verify-'));
  fs.chmodSync(dir, 0o755); // run as root, the CLI becomes cyrus and must still read the config
  try {
    const [closed] = await freePorts(1);
    const conf = (name: string, extra: string) => {
      const file = path.join(dir, name);
      fs.writeFileSync(file, `configdirectory: ${dir}\npartition-default: ${dir}/spool\n${extra}`, { mode: 0o644 });
      return file;
    };
    const verify = (file: string, ...args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', SYNCMUX, 'verify', '-C', file, ...args], { cwd: root, encoding: 'utf8', timeout: 30_000 });
    const unreachable = verify(conf('down.conf', `sync_host: 127.0.0.1\nsync_port: ${closed}\nsync_password: s3cret-never-shown\n`), '--user', 'tom');
    assert.is(unreachable.status, 75, unreachable.stderr);
    assert.match(unreachable.stderr, /cannot connect to the replica/);
    assert.not.match(unreachable.stdout + unreachable.stderr, /s3cret/);
    const noHost = verify(conf('nohost.conf', ''), '--user', 'tom');
    assert.is(noHost.status, 70, noHost.stderr);
    assert.match(noHost.stderr, /sync_host not defined/);
    assert.is(verify(conf('usage.conf', ''), '--user', 'a/b').status, 64);
    assert.is(verify(conf('usage2.conf', ''), '--all', '--user', 'tom').status, 64);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
