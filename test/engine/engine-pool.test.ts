// EnginePool's routing: stable per key, and independent of the shard hash.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { connectionCount, connectionFor } from '../../src/engine/engine-pool.js';
import { shardOf } from '../../src/native/index.js';

const users = Array.from({ length: 4000 }, (_, i) => `user${i}@example.com`);

test('a key always gets the same connection', () => {
  for (const u of users.slice(0, 200)) assert.is(connectionFor(u, 4), connectionFor(u, 4));
  assert.is(connectionFor('anyone', 1), 0);
});

test("one shard's users spread over all its connections, even when the counts share a factor", () => {
  for (const [shards, connections] of [[2, 2], [4, 2], [4, 4], [8, 4], [3, 3]] as const) {
    const inShard0 = users.filter((u) => shardOf(u, shards) === 0);
    const used = new Array<number>(connections).fill(0);
    for (const u of inShard0) used[connectionFor(u, connections)]!++;
    const expected = inShard0.length / connections;
    for (const n of used) assert.ok(n > expected * 0.7 && n < expected * 1.3, `${shards} shards x ${connections}: ${used.join(',')}`);
  }
});

test('connection counts: integers 1-64, else the fallback', () => {
  assert.is(connectionCount(undefined, 4), 4);
  assert.is(connectionCount('8', 4), 8);
  for (const bad of ['0', '65', '-1', '2.5', 'lots', '']) assert.is(connectionCount(bad, 3), 3, bad);
});

test.run();
