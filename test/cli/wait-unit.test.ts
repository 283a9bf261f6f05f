/**
 * The pieces of `syncmux wait` without Cyrus: the splitter's pass requests,
 * the retry-journal peek, and the wait rule over fake shard counters.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassRequests } from '../../src/synclog/watch.js';
import { newShardStats, type ShardStats } from '../../src/shard/index.js';
import { monotonicMs } from '../../src/shard/stats-caught-up.js';
import { pendingLines } from '../../src/cli/retry-peek.js';
import { userKey, waitForUser, type WaitContext } from '../../src/cli/wait-user.js';

test('PassRequests: only a pass that began after the request ends it', async () => {
  const requests = new PassRequests();
  let woken = 0;
  requests.wake = () => woken++;
  const running = requests.begin();
  let done = false;
  const asked = requests.request().then(() => (done = true));
  assert.is(woken, 1);
  requests.end(running); // began before the request: proves nothing
  await Promise.resolve();
  assert.is(done, false);
  requests.end(requests.begin());
  await asked;
  assert.is(done, true);
  requests.stop();
  await requests.request().then(() => assert.unreachable(), (e: Error) => assert.match(e.message, /stopped/));
});

test('pendingLines replays one key, ignores other keys and a torn tail', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'syncmux-peek-'));
  const file = path.join(dir, 'retry.0');
  try {
    assert.is(pendingLines(file, 'alice'), 0);
    fs.writeFileSync(file, '! alice 1 5\n+ alice 1 APPEND user.alice\n+ bob 1 APPEND user.bob\n+ alice 1 SEEN alice x\n- alice 1\n+ alice 2 APPE');
    assert.is(pendingLines(file, 'alice'), 1);
    assert.is(pendingLines(file, 'bob'), 1);
    fs.appendFileSync(file, 'ND user.alice\n- alice 2\n');
    assert.is(pendingLines(file, 'alice'), 0);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

function fakeContext(dir: string, stats: ShardStats[]): WaitContext {
  return { channelDir: dir, shards: stats.length, route: {}, splitNow: async () => {}, stats: (i) => ({ ...stats[i]! }) };
}

test('waitForUser wakes the shard in a later millisecond than the split, so an idle shard answers at once', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'syncmux-wait-'));
  try {
    const stats = [newShardStats()];
    const woken: number[] = [];
    // The fake shard runs its pass the moment it is woken: it proves what came before that moment.
    const ctx: WaitContext = { ...fakeContext(dir, stats), wakeShard: (i) => { woken.push(i); stats[i]!.caughtUpMs = monotonicMs(); } };
    for (let round = 0; round < 20; round++) {
      const r = await waitForUser(ctx, 'alice', 500);
      assert.ok(r.ok, `round ${round}: a pass begun at the wake must count (${r.ms} ms)`);
    }
    assert.equal(woken, Array(20).fill(0));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('waitForUser: ok once the shard caught up past the split, timeout while the user has retries', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'syncmux-wait-'));
  try {
    const stats = [newShardStats()];
    const ctx = fakeContext(dir, stats);
    const late = waitForUser(ctx, 'alice', 2000);
    setTimeout(() => (stats[0]!.caughtUpMs = monotonicMs() + 1), 100);
    const ok = await late;
    assert.ok(ok.ok && ok.ms >= 90, JSON.stringify(ok));

    // Caught up, but alice has a line in the journal: no success.
    fs.writeFileSync(path.join(dir, 'retry.0'), '+ alice 1 APPEND user.alice\n');
    stats[0]!.retryUsers = 1;
    const t = setInterval(() => (stats[0]!.caughtUpMs = monotonicMs() + 1), 20);
    const failing = await waitForUser(ctx, 'alice', 300);
    assert.equal([failing.ok, failing.ms >= 300], [false, true]);
    // Another user of the shard is not held up by alice's retries.
    assert.ok((await waitForUser(ctx, 'bob', 1000)).ok);
    clearInterval(t);

    const stopped = await waitForUser({ ...ctx, splitNow: () => Promise.reject(new Error('stopped')) }, 'alice', 1000);
    assert.equal([stopped.ok, stopped.stopped], [false, true]);
    assert.is(userKey('john.smith@internal', {}), 'john.smith');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
