import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  BarrierBoard,
  barrierReady,
  compareBarrierIds,
  formatBarrierLine,
  isBarrierLine,
  parseBarrierLine,
  roleOf,
  type Barrier,
  type BarrierId,
} from '../../src/synclog/index.js';

const barrier = (run: number, offset: number, shards: number[]): Barrier => ({ id: { run, offset }, shards });

test('BARRIER lines: format, detect, parse', () => {
  const b = barrier(3, 1234, [1, 0]);
  const line = formatBarrierLine(b);
  assert.is(line, 'BARRIER 3.1234 1,0\n');
  const bytes = Buffer.from(line, 'latin1');
  assert.ok(isBarrierLine(bytes, 0, bytes.length - 1));
  assert.equal(parseBarrierLine(bytes), b);
  assert.not.ok(isBarrierLine(Buffer.from('BARRIERS x y')));
  assert.not.ok(isBarrierLine(Buffer.from('MAILBOX user.tom')));
  for (const bad of ['BARRIER 3 1,0', 'BARRIER 3.4 1', 'BARRIER 3.4 a,b', 'BARRIER 3.4', 'BARRIER x.4 1,0']) {
    assert.is(parseBarrierLine(Buffer.from(bad)), null, bad);
  }
});

test('ids order by run, then offset', () => {
  const ids: BarrierId[] = [{ run: 2, offset: 5 }, { run: 1, offset: 900 }, { run: 2, offset: 1 }];
  ids.sort(compareBarrierIds);
  assert.equal(ids, [{ run: 1, offset: 900 }, { run: 2, offset: 1 }, { run: 2, offset: 5 }]);
});

test('the pure rule: leader waits for followers, followers wait for the leader', () => {
  const b = barrier(1, 10, [2, 5]);
  assert.is(roleOf(b, 2), 'leader');
  assert.is(roleOf(b, 5), 'follower');
  assert.throws(() => roleOf(b, 3));
  const positions = new Map<number, BarrierId>();
  const at = (s: number): BarrierId | null => positions.get(s) ?? null;
  assert.not.ok(barrierReady(b, 2, at));
  positions.set(5, { run: 1, offset: 10 }); // follower arrived
  assert.ok(barrierReady(b, 2, at));
  assert.not.ok(barrierReady(b, 5, at)); // leader has not executed yet
  positions.set(2, { run: 1, offset: 10 });
  assert.ok(barrierReady(b, 5, at));
  positions.set(2, { run: 0, offset: 99 });
  assert.not.ok(barrierReady(b, 5, at));
});

type Item = { kind: 'event'; name: string } | { kind: 'barrier'; barrier: Barrier };
const ev = (name: string): Item => ({ kind: 'event', name });
const bar = (b: Barrier): Item => ({ kind: 'barrier', barrier: b });

/** A toy shard worker: logs events in order, obeys barriers through the board. */
async function work(board: BarrierBoard, shard: number, items: Item[], log: string[]): Promise<void> {
  for (let i = 0; i < items.length; i++) {
    const item = items[i]!;
    if (item.kind === 'event') {
      log.push(item.name);
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 3));
      continue;
    }
    const b = item.barrier;
    const payload = roleOf(b, shard) === 'leader' ? items[++i] : undefined;
    await board.pass(b, shard, async () => {
      if (payload?.kind === 'event') log.push(payload.name);
    }, { pollMs: 1 });
  }
}

async function withBoard(fn: (board: BarrierBoard) => Promise<void>): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'syncmux-barrier-'));
  try {
    await fn(new BarrierBoard(dir));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function within<T>(ms: number, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const stall = new Promise<T>((_, reject) => (timer = setTimeout(() => reject(new Error(`stalled ${ms} ms`)), ms)));
  try {
    return await Promise.race([promise, stall]);
  } finally {
    clearTimeout(timer);
  }
}

test('a cross-user line runs after both users’ earlier events and before their later ones', async () => {
  await withBoard(async (board) => {
    const x = barrier(1, 100, [0, 1]);
    const shard0: Item[] = [ev('a1'), ev('a2'), bar(x), ev('RENAME a->b'), ev('a3')];
    const shard1: Item[] = [ev('b1'), ev('b2'), ev('b3'), bar(x), ev('b4')];
    const log: string[] = [];
    await within(5000, Promise.all([work(board, 0, shard0, log), work(board, 1, shard1, log)]));
    const at = log.indexOf('RENAME a->b');
    for (const before of ['a1', 'a2', 'b1', 'b2', 'b3']) assert.ok(log.indexOf(before) < at, before);
    for (const after of ['a3', 'b4']) assert.ok(log.indexOf(after) > at, after);
  });
});

test('replayed duplicates and interleaved barriers never stall', async () => {
  await withBoard(async (board) => {
    const x = barrier(1, 10, [0, 1]);
    const y = barrier(1, 20, [0, 2]);
    const z = barrier(1, 30, [2, 1]);
    // Shard 0 saw its part of the batch holding x and y twice (a crash before
    // the other shards' appends, then the replay).
    const shard0: Item[] = [ev('s0-1'), bar(x), ev('X'), bar(y), ev('Y'), bar(x), ev('X'), bar(y), ev('Y'), ev('s0-2')];
    const shard1: Item[] = [bar(x), ev('s1-1'), bar(z), ev('s1-2')];
    const shard2: Item[] = [bar(y), bar(z), ev('Z'), ev('s2-1')];
    const log: string[] = [];
    await within(5000, Promise.all([work(board, 0, shard0, log), work(board, 1, shard1, log), work(board, 2, shard2, log)]));
    assert.ok(log.indexOf('X') < log.indexOf('s1-1'));
    assert.ok(log.indexOf('Z') < log.indexOf('s1-2'));
    assert.ok(log.indexOf('Y') < log.indexOf('Z'));
    assert.equal(board.position(0), { run: 1, offset: 20 });
  });
});

test('publish is monotonic and survives a new board object', async () => {
  await withBoard(async (board) => {
    board.publish(3, { run: 2, offset: 7 });
    board.publish(3, { run: 1, offset: 999 });
    assert.equal(board.position(3), { run: 2, offset: 7 });
    assert.is(board.position(4), null);
  });
});

test('a waiting worker honours its abort signal', async () => {
  await withBoard(async (board) => {
    const controller = new AbortController();
    const waiting = board.pass(barrier(1, 1, [0, 1]), 1, async () => {}, { signal: controller.signal, pollMs: 1 });
    setTimeout(() => controller.abort(), 20);
    let failed = false;
    await waiting.catch(() => (failed = true));
    assert.ok(failed);
  });
});

test.run();
