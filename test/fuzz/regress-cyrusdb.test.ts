// cyrusdb reader bugs the fuzzers found (test/fuzz/support/targets.ts), each
// pinned on a hand-made minimal input: lengths ≥ 2^31 and pointer loops.
import fs from 'node:fs';
import path from 'node:path';
import { crc32 } from 'node:zlib';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { decodeDb } from '../../src/cyrus/cyrusdb/open.js';
import { SkiplistSeeker } from '../../src/cyrus/cyrusdb/skiplist-seek.js';
import { TwoskipSeeker } from '../../src/cyrus/cyrusdb/twoskip-seek.js';
import { CyrusDbError } from '../../src/cyrus/cyrusdb/types.js';
import { buildTwoskip } from '../cyrus/support/twoskip-writer.js';
import { guardedReadAt, installAllocationGuard, takeViolations } from './support/guards.js';

installAllocationGuard();
const fixture = (name: string): Buffer => fs.readFileSync(path.join(path.dirname(new URL(import.meta.url).pathname), 'fixtures', name));

/** fn must throw an instance of cls (not a RangeError, not a hang) and trip no guard. */
function throwsTyped(fn: () => unknown, cls: abstract new (...a: never[]) => Error, re?: RegExp): Error {
  takeViolations();
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  assert.equal(takeViolations(), []);
  assert.ok(caught instanceof cls, `expected ${cls.name}, got ${caught instanceof Error ? `${caught.constructor.name}: ${caught.message}` : String(caught)}`);
  if (re) assert.match((caught as Error).message, re);
  return caught as Error;
}

/** The first record after the skiplist DUMMY (its level-0 pointer). */
const firstSkiplistNode = (b: Buffer): number => b.readUInt32BE(48 + 12);

test('skiplist: a key length near 2^32 is past the end, not a RangeError', () => {
  const b = Buffer.from(fixture('seen.skiplist'));
  b.writeUInt32BE(0xfffffffd, firstSkiplistNode(b) + 4);
  throwsTyped(() => decodeDb(b, '/x/seen'), CyrusDbError, /key past end/);
  throwsTyped(() => [...new SkiplistSeeker(guardedReadAt(b), b.length).scan(Buffer.alloc(0))], CyrusDbError, /key past end/);
});

test('skiplist: a value length of 2^31 is past the end, never a 2 GiB read', () => {
  const b = Buffer.from(fixture('seen.skiplist'));
  const node = firstSkiplistNode(b);
  const dataLenAt = node + 8 + Math.ceil(b.readUInt32BE(node + 4) / 4) * 4;
  b.writeUInt32BE(0x7ffffffd, dataLenAt);
  throwsTyped(() => decodeDb(b), CyrusDbError, /data past end/);
  throwsTyped(() => [...new SkiplistSeeker(guardedReadAt(b), b.length).scan(Buffer.alloc(0))], CyrusDbError, /data past end/);
});

/** A one-record twoskip whose value length field says `valLen`, with every CRC made to match what the reader checks. */
function twoskipWithValueLength(valLen: number, tailBytes: number): Buffer {
  const b = buildTwoskip([['key0123456', 'v']]);
  const rec = 64 + 272;
  b.writeUInt32BE(valLen, rec + 4);
  const level = b[rec + 1]!;
  const crcAt = rec + 8 + 8 * (level + 1);
  b.writeUInt32BE(crc32(b.subarray(rec, crcAt)), crcAt);
  b.writeUInt32BE(crc32(b.subarray(crcAt + 8, crcAt + 8 + tailBytes)), crcAt + 4);
  return b;
}

test('twoskip: a value length near 2^32 is past the end, not a record running into the rest of the file', () => {
  // Before: (10 + 0xfffffff8 + 7) & ~7 wrapped to 8, so an 8-byte tail CRC "matched".
  const b = twoskipWithValueLength(0xfffffff8, 8);
  throwsTyped(() => decodeDb(b), CyrusDbError, /past end of file/);
  throwsTyped(() => new TwoskipSeeker(guardedReadAt(b), b.length).get(Buffer.from('key0123456')), CyrusDbError, /past end of file/);
});

/** Points the twoskip DUMMY's level-1 pointer at `target` and fixes its head CRC. */
function dummyLevel1To(b: Buffer, target: number): void {
  b.writeBigUInt64BE(BigInt(target), 64 + 8 + 16);
  b.writeUInt32BE(crc32(b.subarray(64, 64 + 8 + 256)), 64 + 8 + 256);
}

test('twoskip seeker: a DUMMY pointing at itself is corruption, not an endless loop', () => {
  const b = buildTwoskip(Array.from({ length: 20 }, (_, i) => [`k${String(i).padStart(2, '0')}`, 'v'] as const));
  dummyLevel1To(b, 64);
  const seeker = new TwoskipSeeker(guardedReadAt(b), b.length, '/x/db');
  const e = throwsTyped(() => seeker.get(Buffer.from('k00')), CyrusDbError, /keys out of order/);
  assert.is((e as CyrusDbError).path, '/x/db');
});

test('twoskip seeker: a level-0 pointer back to an earlier record ends the scan with an error', () => {
  const b = buildTwoskip([['a', '1'], ['b', '2'], ['c', '3']]);
  // Record "c" (the last) gets its level-0 pointer aimed at the first record.
  const first = 64 + 272;
  let off = first;
  for (let i = 0; i < 2; i++) off = Number(b.readBigUInt64BE(off + 8));
  b.writeBigUInt64BE(BigInt(first), off + 8);
  const level = b[off + 1]!;
  const crcAt = off + 8 + 8 * (level + 1);
  b.writeUInt32BE(crc32(b.subarray(off, crcAt)), crcAt);
  throwsTyped(() => [...new TwoskipSeeker(guardedReadAt(b), b.length).scan(Buffer.alloc(0))], CyrusDbError, /keys out of order/);
  throwsTyped(() => decodeDb(b), CyrusDbError);
});

test.run();
