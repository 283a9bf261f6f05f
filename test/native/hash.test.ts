import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { createRequire } from 'node:module';
import { hash64, shardOf, shardOfLines } from '../../src/native/index.js';

// Golden values: shard assignment is on-disk state (which log.<i> holds a
// user's lines), so these must never change between versions.
const GOLDEN: Array<[string, bigint]> = [
  ['user.tom', 0x1323b158566c7800n],
  ['', 0x2d06800538d394c2n], // the XXH3-64 reference value for empty input
  ['tom', 0xdbb863e09d98004bn],
  ['tom@example.com', 0x3b6c0dc54c2c646en],
  ['john.smith', 0xec79c37b64c0745dn],
  ['\u00e9l\u00e8ve', 0x8c25bdcb7e306defn],
  ['@example.com', 0x0b33ad74d46c45f5n],
  ['*', 0x79d03016b7aeed0dn],
];

test('hash64 matches pinned XXH3-64 golden values', () => {
  for (const [key, expected] of GOLDEN) assert.is(hash64(key), expected, key);
});

test('shard function golden assignments', () => {
  const keys = ['tom', 'tom@example.com', 'john.smith', '', '\u00e9l\u00e8ve', '@example.com', '*'];
  const got = keys.map((k) => [shardOf(k, 4), shardOf(k, 8), shardOf(k, 16)]);
  assert.equal(got, GOLDEN_SHARDS);
});

const GOLDEN_SHARDS = [[3, 3, 11], [2, 6, 14], [1, 5, 13], [2, 2, 2], [3, 7, 15], [1, 5, 5], [1, 5, 13]];

test('hash64 equals xxhash-addon XXH3 on random strings', () => {
  const require = createRequire(import.meta.url);
  const { XXHash3 } = require('xxhash-addon') as { XXHash3: { hash(b: Buffer): Buffer } };
  fc.assert(
    fc.property(fc.string({ unit: 'grapheme', maxLength: 300 }), (key) => {
      const theirs = XXHash3.hash(Buffer.from(key, 'utf8')).readBigUInt64BE(0);
      return hash64(key) === theirs;
    }),
    { numRuns: 500 },
  );
});

test('shardOf is hash64 mod n, and the batch form agrees', () => {
  fc.assert(
    fc.property(fc.array(fc.string({ maxLength: 40 }).filter((s) => !s.includes('\n')), { minLength: 1 }), fc.integer({ min: 1, max: 1000 }), (keys, n) => {
      const batch = shardOfLines(Buffer.from(keys.join('\n') + '\n'), n);
      return keys.every((k, i) => shardOf(k, n) === Number(hash64(k) % BigInt(n)) && batch[i] === shardOf(k, n))
        && batch.length === keys.length;
    }),
  );
});

test('bad shard counts are rejected', () => {
  assert.throws(() => shardOf('x', 0), /shard count/);
  assert.throws(() => shardOf('x', 1.5), /shard count/);
});

test.run();
