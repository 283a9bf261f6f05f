import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { RateLimit } from '../../src/engine/rate-limit.js';

test('a shared cap holds the average rate across takers, after a second of burst', async () => {
  const buffer = RateLimit.buffer();
  const a = new RateLimit(buffer, 200);
  const b = new RateLimit(buffer, 200); // another thread's view of the same buffer
  const started = performance.now();
  let taken = 0;
  await Promise.all([a, b].map(async (limit) => {
    for (let i = 0; i < 30; i++) {
      await limit.take(10);
      taken += 10;
    }
  }));
  const seconds = (performance.now() - started) / 1000;
  // 600 units at 200/s with 1 s (200 units) of burst: at least (600 - 200) / 200 = 2 s.
  assert.ok(seconds >= 1.9, `${taken} units in ${seconds.toFixed(2)} s`);
});

test('uneven takes cannot stretch the burst: a window holds the rate plus one second', async () => {
  const buffer = RateLimit.buffer();
  const takers = [new RateLimit(buffer, 1000), new RateLimit(buffer, 1000)];
  const started = performance.now();
  // Whole batches of 300 units, as a shard takes a batch of messages at once:
  // 2400 units at 1000/s with 1000 of burst go out no sooner than 1.4 s.
  await Promise.all(takers.map(async (limit) => {
    for (let i = 0; i < 4; i++) await limit.take(300);
  }));
  const seconds = (performance.now() - started) / 1000;
  assert.ok(seconds >= 1.35, `2400 units in ${seconds.toFixed(2)} s`);
});

test('a take larger than a second of rate waits for its excess, even when idle', async () => {
  const limit = new RateLimit(RateLimit.buffer(), 1000);
  const started = performance.now();
  await limit.take(1400);
  const seconds = (performance.now() - started) / 1000;
  assert.ok(seconds >= 0.35 && seconds < 1, `1400 units at 1000/s waited ${seconds.toFixed(2)} s`);
});

test('an idle cap lets the first take go at once; a bad rate is refused', async () => {
  const limit = new RateLimit(RateLimit.buffer(), 1000);
  const started = performance.now();
  await limit.take(500);
  assert.ok(performance.now() - started < 50);
  assert.throws(() => new RateLimit(RateLimit.buffer(), 0), /positive/);
});

test.run();
