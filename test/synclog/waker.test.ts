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

test('with a settle time, a pass begins that long after the event that woke it; fire() does not settle', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'syncmux-waker-'));
  const waker = new Waker(dir, (name) => name === 'log', 600_000, undefined, undefined, 300);
  try {
    const waiting = waker.wait();
    fs.writeFileSync(path.join(dir, 'log'), 'APPEND user.tom\n');
    const began = performance.now();
    await within(10_000, 'the settled wake-up', waiting);
    // The event reaches the watcher a little after the write: measured from the write, allow a few ms.
    assert.ok(performance.now() - began >= 280, `woke ${Math.round(performance.now() - began)} ms after the event`);

    // Lines that came while a pass ran: the settle counts from their event, not from the wait.
    waker.clear();
    fs.appendFileSync(path.join(dir, 'log'), 'MAILBOX user.tom\n');
    await new Promise((r) => setTimeout(r, 400));
    const late = performance.now();
    await within(10_000, 'the wait after a long pass', waker.wait());
    assert.ok(performance.now() - late < 250, 'an event older than the settle time is taken at once');

    const slow = new Waker(dir, (name) => name === 'log', 600_000, undefined, undefined, 600_000);
    try {
      const waitingSlow = slow.wait();
      fs.appendFileSync(path.join(dir, 'log'), 'APPEND user.ann\n');
      await new Promise((r) => setTimeout(r, 100));
      slow.fire();
      await within(10_000, 'fire() ending a settle of 10 min', waitingSlow);
    } finally {
      slow.close();
    }
  } finally {
    waker.close();
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
