/**
 * The consumers' idle wait: an fs event for an interesting name ends it at
 * once; without events (no inotify, a missing directory) the poll does, and
 * the failure to watch is reported once so an admin learns why changes are
 * slow.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Waker } from '../../src/synclog/waker.js';

function within<T>(ms: number, what: string, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} did not happen within ${ms} ms`)), ms)));
  return Promise.race([work, late]).finally(() => clearTimeout(timer));
}

test('an event for an interesting name wakes the wait; other names do not', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'syncmux-waker-'));
  const failures: Error[] = [];
  const waker = new Waker(dir, (name) => name === 'log', 600_000, undefined, (e) => failures.push(e));
  try {
    let woken = false;
    const waiting = waker.wait().then(() => (woken = true));
    fs.writeFileSync(path.join(dir, 'other'), 'x');
    await new Promise((r) => setTimeout(r, 200));
    assert.is(woken, false, 'an uninteresting name must not wake the consumer');
    fs.writeFileSync(path.join(dir, 'log'), 'APPEND user.tom\n');
    await within(10_000, 'the wake-up by the fs event (the poll is 10 min)', waiting);
    assert.equal(failures, []);
  } finally {
    waker.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('with a settle time, a pass under load begins that long after its event; a quiet one and fire() at once', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'syncmux-waker-'));
  const log = path.join(dir, 'log');
  const elapsed = async (what: string, work: Promise<void>): Promise<number> => {
    const began = performance.now();
    await within(30_000, what, work);
    return performance.now() - began;
  };
  const waker = new Waker(dir, (name) => name === 'log', 600_000, undefined, undefined, 2000);
  try {
    // After a quiet spell: at once, so a lone change keeps its latency.
    let waiting = waker.wait();
    fs.writeFileSync(log, 'APPEND user.tom\n');
    assert.ok((await elapsed('the first wake-up', waiting)) < 1500, 'a change after a quiet spell must not wait');

    // Soon after that wake-up (load): the pass begins 2 s after the event, so it carries what follows.
    waker.clear();
    waiting = waker.wait();
    fs.appendFileSync(log, 'MAILBOX user.tom\n');
    assert.ok((await elapsed('the settled wake-up', waiting)) >= 1900, 'under load the pass waits the settle time');

    // Lines that came while a pass ran: the settle counts from their event, not from the wait.
    waker.clear();
    fs.appendFileSync(log, 'APPEND user.ann\n');
    await new Promise((r) => setTimeout(r, 2100));
    assert.ok((await elapsed('the wait after a long pass', waker.wait())) < 1500, 'an event older than the settle time is taken at once');
  } finally {
    waker.close();
  }

  const slow = new Waker(dir, (name) => name === 'log', 600_000, undefined, undefined, 600_000);
  try {
    let waiting = slow.wait();
    fs.appendFileSync(log, 'APPEND user.bob\n');
    await within(30_000, 'the quiet wake-up', waiting);
    slow.clear();
    waiting = slow.wait();
    fs.appendFileSync(log, 'MAILBOX user.bob\n');
    await new Promise((r) => setTimeout(r, 100));
    slow.fire();
    await within(10_000, 'fire() ending a settle of 10 min', waiting);
  } finally {
    slow.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a directory that cannot be watched is reported once, and the poll still wakes the wait', async () => {
  const missing = path.join(os.tmpdir(), `syncmux-waker-missing-${process.pid}`);
  const failures: Error[] = [];
  const waker = new Waker(missing, () => true, 20, undefined, (e) => failures.push(e));
  try {
    for (let i = 0; i < 3; i++) await within(10_000, 'the poll', waker.wait());
    assert.is(failures.length, 1);
    assert.match(failures[0]!.message, /ENOENT/);
  } finally {
    waker.close();
  }
});

test.run();
