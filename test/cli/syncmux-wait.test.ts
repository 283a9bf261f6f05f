/**
 * `syncmux wait --user U` against a real master and replica: it returns
 * only once U's mail is on the replica (checked with one STATUS right after,
 * no polling), times out cleanly while the replica is down without hurting
 * the daemon, succeeds again after the replica is back, and says clearly
 * (exit 2) when no daemon runs.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CyrusLab } from '../../lab/cyrus-lab.js';
import { createUser, deliver, withImap } from '../../lab/lab-ops.js';
import { pairs } from '../../lab/imap-tokens.js';
import { skip } from '../support/skip.js';
import { cyrusSkipReason } from '../support/cyrus.js';

const reason = cyrusSkipReason();
const SYNCMUX = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', '..', 'src', 'cli', 'syncmux.ts');

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
  elapsedMs: number;
}

/** Runs `syncmux <args>` without blocking this process's event loop. */
function syncmux(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<Run> {
  const started = Date.now();
  const child = spawn(process.execPath, ['--import', 'tsx', SYNCMUX, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  return new Promise((resolve) => child.on('exit', (status) => resolve({ status, stdout, stderr, elapsedMs: Date.now() - started })));
}

async function replicaMessages(lab: CyrusLab, user: string): Promise<number> {
  return withImap(lab.replica, user, async (c) => {
    const r = await c.command('STATUS INBOX (MESSAGES)', false);
    if (r.status !== 'OK') return -1; // not on the replica yet
    return Number(pairs(r.untagged.find((t) => t[0] === 'STATUS')![2]!).get('MESSAGES'));
  });
}

async function waitFor(what: string, ok: () => boolean, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

test('syncmux wait: ok only once the mail is on the replica; clean timeout while the replica is down', async () => {
  if (reason) return skip('syncmux wait', reason);
  const lab = await CyrusLab.start();
  let daemon: ChildProcess | null = null;
  let output = '';
  try {
    const users = ['wanda', 'walter', 'wilma', 'wes'];
    for (const u of users) await createUser(lab, u, ['Sent']);
    const conf = lab.master.paths.imapdConf;
    const base = ['-C', conf, '-n', lab.channel];
    daemon = spawn(process.execPath, ['--import', 'tsx', SYNCMUX, 'run', ...base, '--shards', '2'], { stdio: ['ignore', 'pipe', 'pipe'] });
    daemon.stdout!.on('data', (c: Buffer) => (output += c.toString()));
    daemon.stderr!.on('data', (c: Buffer) => (output += c.toString()));
    const socket = path.join(lab.syncLogDir(), 'syncmux.sock');
    await waitFor('the wait socket', () => fs.existsSync(socket));
    assert.is(fs.statSync(socket).mode & 0o777, 0o660);

    // Each round: deliver, wait, then one STATUS on the replica.
    for (let round = 1; round <= 3; round++) {
      for (const u of users) await deliver(lab, u, round, { start: 100 * round });
      for (const u of users) {
        const expected = (round * (round + 1)) / 2;
        const r = await syncmux(['wait', ...base, '--user', u, '--timeout', '30000']);
        assert.is(r.status, 0, `${u} round ${round}: ${r.stdout}${r.stderr}\n${output}`);
        assert.match(r.stdout, /^ok \d+\n$/);
        assert.is(await replicaMessages(lab, u), expected, `${u} after round ${round}`);
      }
    }
    // Nothing logged for a user: ok at once.
    const idle = await syncmux(['wait', ...base, '--user', 'nobody-at-all']);
    assert.is(idle.status, 0, idle.stdout + idle.stderr);

    // Replica down: the wait times out within its timeout, the daemon keeps running.
    await lab.stopInstance(lab.replica);
    await deliver(lab, 'wanda', 1, { start: 900 });
    const down = await syncmux(['wait', ...base, '--user', 'wanda', '--timeout', '2000']);
    assert.is(down.status, 1, down.stdout + down.stderr);
    const ms = Number(/^timeout after (\d+)\n$/.exec(down.stdout)?.[1]);
    assert.ok(ms >= 2000 && ms < 2500, down.stdout);
    assert.ok(down.elapsedMs < 2000 + 5000, `the CLI took ${down.elapsedMs} ms`); // timeout + process start-up
    assert.is(daemon.exitCode, null, output);
    const status = await syncmux(['status', ...base]);
    assert.is(status.status, 0, status.stdout + status.stderr);

    // Replica back: a new wait succeeds and the message is there.
    await lab.restart(lab.replica);
    const back = await syncmux(['wait', ...base, '--user', 'wanda', '--timeout', '60000']);
    assert.is(back.status, 0, `${back.stdout}${back.stderr}\n${output}`);
    assert.is(await replicaMessages(lab, 'wanda'), 7);

    daemon.kill('SIGTERM');
    await new Promise((r) => daemon!.once('exit', r));
    assert.not.ok(fs.existsSync(socket), 'the socket goes with the daemon');
  } finally {
    if (daemon && daemon.exitCode === null) daemon.kill('SIGKILL');
    await lab.destroy();
  }
});

test('syncmux wait: exit 2 with a clear message when no daemon runs', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'syncmux-wait-'));
  try {
    const conf = path.join(dir, 'imapd.conf');
    fs.writeFileSync(conf, `configdirectory: ${dir}\n`);
    fs.mkdirSync(path.join(dir, 'sync', 'replica'), { recursive: true });
    // Run as ourselves, so this needs neither root nor a cyrus user.
    const env = { ...process.env, CYRUS_USER: os.userInfo().username };
    const args = ['wait', '-C', conf, '-n', 'replica', '--user', 'alice', '--timeout', '1000'];
    const none = await syncmux(args, env);
    assert.is(none.status, 2, none.stdout + none.stderr);
    assert.match(none.stderr, /syncmux run is not running for channel replica/);
    // A socket file left by a dead daemon: the same answer.
    fs.writeFileSync(path.join(dir, 'sync', 'replica', 'syncmux.sock'), '');
    const stale = await syncmux(args, env);
    assert.is(stale.status, 2, stale.stdout + stale.stderr);
    const bad = await syncmux(['wait', '-C', conf, '-n', 'replica'], env);
    assert.is(bad.status, 64, bad.stdout + bad.stderr);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
