import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { appendLog, handOffLog, handOffLogSync } from '../../src/native/index.js';

const fixtures = path.join(path.dirname(new URL(import.meta.url).pathname), 'fixtures');
const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'syncmux-native-'));

function runWriter(file: string, writer: number, count: number, batch: number): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(fixtures, 'append-writer.ts'), file, String(writer), String(count), String(batch)], { stdio: 'inherit' });
    child.on('exit', (code) => resolve(code ?? -1));
  });
}

test('several processes append concurrently with no torn or interleaved lines', async () => {
  const dir = tmp();
  const file = path.join(dir, 'log');
  const codes = await Promise.all([0, 1, 2, 3].map((w) => runWriter(file, w, 400, w % 2 ? 7 : 1)));
  assert.equal(codes, [0, 0, 0, 0]);
  const lines = fs.readFileSync(file, 'utf8').split('\n');
  assert.is(lines.pop(), '');
  assert.is(lines.length, 1600);
  const next = [0, 0, 0, 0];
  for (const line of lines) {
    const m = /^APPEND user\.w(\d)\.(\d+) (x*)$/.exec(line);
    assert.ok(m, `torn line: ${line.slice(0, 80)}`);
    const w = Number(m[1]), j = Number(m[2]);
    assert.is(j, next[w], `writer ${w} order`);
    assert.is(m[3]!.length, (j * 997) % 6000, 'line length');
    next[w]! += 1;
  }
  assert.is(fs.statSync(file).mode & 0o777, 0o640);
  fs.rmSync(dir, { recursive: true });
});

test('an append after a torn write cuts the torn tail first: no line is ever two joined', async () => {
  const dir = tmp();
  const file = path.join(dir, 'log.0');
  fs.writeFileSync(file, 'APPEND user.tom\nANNOTATION "user.u368.br'); // a writer killed mid-line
  await appendLog(file, ['MAILBOX "user.john2629^smith"\n']);
  assert.is(fs.readFileSync(file, 'latin1'), 'APPEND user.tom\nMAILBOX "user.john2629^smith"\n');
  fs.writeFileSync(file, 'x'.repeat(10_000)); // no complete line at all, longer than one read
  await appendLog(file, ['SEEN tom u1\n']);
  assert.is(fs.readFileSync(file, 'latin1'), 'SEEN tom u1\n');
  await appendLog(file, ['SUB tom INBOX\n']);
  assert.is(fs.readFileSync(file, 'latin1'), 'SEEN tom u1\nSUB tom INBOX\n', 'a complete tail is left alone');
  fs.rmSync(dir, { recursive: true, force: true });
});

test('byte strings reach the disk byte for byte; wider chars and bad options are refused', async () => {
  const dir = tmp();
  const file = path.join(dir, 'log');
  // A mailbox name's UTF-8 bytes as the log carries them: one char per byte.
  const line = `APPEND ${Buffer.from('user.tom.Entwürfe', 'utf8').toString('latin1')}\n`;
  await appendLog(file, line);
  await appendLog(file, [Buffer.from('SEEN tom u1\n'), 'SUB tom INBOX\n']);
  assert.equal(fs.readFileSync(file), Buffer.concat([Buffer.from('APPEND user.tom.Entwürfe\n', 'utf8'), Buffer.from('SEEN tom u1\nSUB tom INBOX\n')]));
  const refused = await appendLog(file, 'APPEND user.tom.Entwürfe€\n').then(() => null, (e: Error) => e);
  assert.ok(refused instanceof TypeError && /byte strings/.test(refused.message));
  await appendLog(file, 'x\n', { timeoutMs: 1.5 }).then(() => assert.unreachable('accepted'), (e: Error) => assert.match(e.message, /integer/));
  fs.rmSync(dir, { recursive: true, force: true });
});

test('hand-off waits for a POSIX-lock writer (Cyrus protocol) that opened the old inode', async () => {
  const dir = tmp();
  const log = path.join(dir, 'log');
  const run = path.join(dir, 'log-run');
  await appendLog(log, 'APPEND user.before\n');
  const holder = spawn('python3', [path.join(fixtures, 'posix-lock-holder.py'), log, '0.6', 'APPEND user.held'], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve) => holder.stdout.once('data', () => resolve()));
  const started = Date.now();
  const state = await handOffLog(log, run, 10_000);
  const waited = Date.now() - started;
  assert.is(state, 'taken');
  assert.ok(waited >= 300, `hand-off returned after ${waited} ms, before the writer released`);
  assert.is(fs.readFileSync(run, 'utf8'), 'APPEND user.before\nAPPEND user.held\n');
  // A writer arriving now fails the inode check and creates a fresh log.
  await appendLog(log, 'APPEND user.after\n');
  assert.is(fs.readFileSync(log, 'utf8'), 'APPEND user.after\n');
  assert.is(handOffLogSync(log, run), 'reprocess', 'an existing log-run is reported first');
  fs.rmSync(run);
  assert.is(handOffLogSync(log, run), 'taken');
  assert.is(handOffLogSync(log, run + '.x'), 'empty');
  fs.rmSync(dir, { recursive: true });
});

test('our append waits for a POSIX lock holder, then lands after its line', async () => {
  const dir = tmp();
  const log = path.join(dir, 'log');
  const holder = spawn('python3', [path.join(fixtures, 'posix-lock-holder.py'), log, '0.4', 'FIRST'], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve) => holder.stdout.once('data', () => resolve()));
  let timedOut = false;
  try {
    await appendLog(log, 'NEVER\n', { timeoutMs: 50 });
  } catch (err) {
    timedOut = (err as NodeJS.ErrnoException).code === 'ETIMEDOUT';
  }
  assert.ok(timedOut, 'a bounded append times out while the lock is held');
  await appendLog(log, ['SECOND\n', Buffer.from('THIRD\n')]);
  assert.is(fs.readFileSync(log, 'utf8'), 'FIRST\nSECOND\nTHIRD\n');
  fs.rmSync(dir, { recursive: true });
});

test('a real Cyrus writer (cyr_synclog) blocks on our lock and its lines survive a hand-off', async () => {
  const cyrSynclog = '/usr/lib/cyrus/bin/cyr_synclog';
  if (!fs.existsSync(cyrSynclog) || process.getuid?.() !== 0) {
    const { skip } = await import('../support/skip.js');
    if (process.env.CI) throw new Error('cyr_synclog is required in CI');
    return skip('cyr_synclog interop', 'needs root and Debian cyrus-imapd (npm run setup)');
  }
  const dir = tmp();
  fs.chmodSync(dir, 0o755);
  const confDir = path.join(dir, 'conf');
  const channelDir = path.join(confDir, 'sync', 'c1');
  fs.mkdirSync(channelDir, { recursive: true });
  const conf = path.join(dir, 'imapd.conf');
  fs.writeFileSync(conf, `configdirectory: ${confDir}\npartition-default: ${dir}/spool\nsync_log: yes\nsync_log_channels: c1\n`);
  spawnSync('chown', ['-R', 'cyrus:mail', confDir]);
  const log = path.join(channelDir, 'log');
  const { LockFile } = await import('../../src/native/index.js');
  spawnSync(cyrSynclog, ['-C', conf, '-u', 'first']);
  assert.is(fs.readFileSync(log, 'utf8'), 'USER first\n');
  const lock = new LockFile(log, { write: true });
  assert.ok(lock.tryLock('exclusive'));
  const writer = spawn(cyrSynclog, ['-C', conf, '-u', 'second']);
  const exited = new Promise<number>((resolve) => writer.on('exit', (c) => resolve(c ?? -1)));
  await new Promise((r) => setTimeout(r, 300));
  assert.is(fs.readFileSync(log, 'utf8'), 'USER first\n', 'cyr_synclog must wait for our OFD lock');
  const handOff = handOffLog(log, path.join(channelDir, 'log-run'), 10_000);
  await new Promise((r) => setTimeout(r, 100));
  lock.unlock();
  lock.close();
  assert.is(await handOff, 'taken');
  assert.is(await exited, 0);
  spawnSync(cyrSynclog, ['-C', conf, '-u', 'third']);
  const all = fs.readFileSync(path.join(channelDir, 'log-run'), 'utf8') + fs.readFileSync(log, 'utf8');
  assert.is(all.split('\n').filter(Boolean).sort().join(','), 'USER first,USER second,USER third');
  fs.rmSync(dir, { recursive: true });
});

test.run();
