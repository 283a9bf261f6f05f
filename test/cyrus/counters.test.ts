import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { crc32 } from 'node:zlib';
import { decodeRaclModseq } from '../../src/cyrus/counters.js';

function countersFile(version: number, length: number, raclmodseq: bigint): Buffer {
  const b = Buffer.alloc(length);
  b.writeUInt32BE(1, 0); // generation
  b.writeUInt32BE(version, 4);
  b.writeBigUInt64BE(1234n, 8); // highestmodseq
  if (length >= 96) b.writeBigUInt64BE(raclmodseq, 88);
  b.writeUInt32BE(crc32(b.subarray(0, length - 4)), length - 4);
  return b;
}

test('RACLMODSEQ is the u64 at 88 of a version 4+ counters file', () => {
  assert.is(decodeRaclModseq(countersFile(9, 296, 77n)), 77n);
  assert.is(decodeRaclModseq(countersFile(4, 104, 5n)), 5n);
  assert.is(decodeRaclModseq(countersFile(3, 88, 0n)), 0n, 'before version 4 there is none');
});

test('a damaged, truncated or unknown counters file reads as 0, as in Cyrus', () => {
  const good = countersFile(9, 296, 77n);
  const flipped = Buffer.from(good);
  flipped[90] = (flipped[90] as number) ^ 1;
  assert.is(decodeRaclModseq(flipped), 0n, 'CRC mismatch');
  assert.is(decodeRaclModseq(good.subarray(0, 200)), 0n, 'length does not match the version');
  assert.is(decodeRaclModseq(countersFile(10, 296, 77n)), 0n, 'unknown version');
  assert.is(decodeRaclModseq(Buffer.alloc(4)), 0n);
});

test.run();
