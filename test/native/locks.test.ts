import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { LockFile, cancelPending, handOffLog, lockPolling } from '../../src/native/index.js';

const fixtures = path.join(path.dirname(new URL(import.meta.url).pathname), 'fixtures');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'syncmux-locks-'));
const file = path.join(dir, 'lockfile');
fs.writeFileSync(file, 'x');

function otherProcessSees(mode: 'shared' | 'exclusive' = 'exclusive'): string {
  const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(fixtures, 'try-lock.ts'), file, mode], { encoding: 'utf8' });
  return r.stdout.trim();
}

test('exclusive lock conflicts within one process (OFD) and across processes', () => {
  const a = new LockFile(file, { write: true });
  const b = new LockFile(file, { write: true });
  assert.ok(a.tryLock('exclusive'));
  assert.not.ok(b.tryLock('exclusive'));
  assert.not.ok(b.tryLock('shared'));
  assert.is(otherProcessSees(), 'held');
  a.unlock();
  assert.ok(b.tryLock('exclusive'));
  b.close();
  a.close();
  assert.is(otherProcessSees(), 'free');
});

test('shared locks coexist and exclude writers', () => {
  const a = new LockFile(file);
  const b = new LockFile(file);
  assert.ok(a.tryLock('shared'));
  assert.ok(b.tryLock('shared'));
  assert.is(otherProcessSees('exclusive'), 'held');
  assert.is(otherProcessSees('shared'), 'free');
  a.close();
  b.close();
});

test("Node's own close() of another fd on the file never drops the lock", () => {
  const a = new LockFile(file, { write: true });
  assert.ok(a.tryLock('exclusive'));
  fs.closeSync(fs.openSync(file, 'r'));
  fs.readFileSync(file);
  assert.is(otherProcessSees(), 'held');
  a.close();
});

test('lock timeout, then release', async () => {
  const holder = new LockFile(file, { write: true });
  assert.ok(holder.tryLock('exclusive'));
  const waiter = new LockFile(file, { write: true });
  const started = Date.now();
  const err = await lockPolling(waiter, 'exclusive', 150).then(() => null, (e: NodeJS.ErrnoException) => e);
  assert.is(err?.code, 'ETIMEDOUT');
  assert.ok(Date.now() - started >= 140);
  assert.is(waiter.tryLock('exclusive'), false);
  const pending = lockPolling(waiter, 'exclusive', 5000);
  setTimeout(() => holder.unlock(), 100);
  await pending;
  assert.is(otherProcessSees(), 'held');
  waiter.close();
  holder.close();
});

test('cancelPending() ends the pending lock waits on the pool with ECANCELED', async () => {
  // A hand-off waits on the pool for the writer holding the log's lock.
  const log = path.join(dir, 'log');
  fs.writeFileSync(log, 'APPEND user.held\n');
  const writer = new LockFile(log, { write: true });
  assert.ok(writer.tryLock('exclusive'));
  const pending = handOffLog(log, path.join(dir, 'log-run'), 60_000).then(() => 'taken', (e: NodeJS.ErrnoException) => e.code);
  await new Promise((r) => setTimeout(r, 50));
  const started = Date.now();
  cancelPending();
  assert.is(await pending, 'ECANCELED');
  assert.ok(Date.now() - started < 1000);
  writer.close();
});

test('a missing lock file is an error, never created unless asked', () => {
  const missing = path.join(dir, 'missing.lock');
  assert.throws(() => new LockFile(missing), (e: NodeJS.ErrnoException) => e.code === 'ENOENT' && e.syscall === 'open');
  assert.not.ok(fs.existsSync(missing));
  const created = new LockFile(missing, { write: true, create: true });
  assert.ok(fs.existsSync(missing));
  assert.ok(created.samePathInode());
  fs.renameSync(missing, missing + '.moved');
  assert.not.ok(created.samePathInode());
  created.close();
});

test.after(() => fs.rmSync(dir, { recursive: true, force: true }));
test.run();
