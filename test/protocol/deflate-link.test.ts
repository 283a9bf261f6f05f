/**
 * COMPRESS over the addon's raw zlib streams: what DeflateLink sends is one
 * raw DEFLATE stream that node:zlib (as Cyrus's zlib) inflates back to the
 * writes in order, also when a large write goes to the pool and small ones
 * queue behind it; InflateLink reads what zlib sends, and rejects garbage
 * with EZLIB instead of passing it on.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import crypto from 'node:crypto';
import zlib from 'node:zlib';
import { ASYNC_DEFLATE_MIN, DeflateLink, InflateLink } from '../../src/protocol/deflate-link.js';

function inflateAll(chunks: Buffer[]): Buffer {
  return zlib.inflateRawSync(Buffer.concat(chunks), { finishFlush: zlib.constants.Z_SYNC_FLUSH });
}

test('small writes leave at once, each ending on a sync-flush marker', () => {
  const out: Buffer[] = [];
  const link = new DeflateLink(6, (b) => out.push(b), (e) => assert.unreachable(e.message));
  assert.is(link.write(Buffer.from('1 APPLY MESSAGE ()\r\n')), true);
  assert.is(out.length, 1, 'synchronous: the output is there before write returns');
  assert.equal([...out[0]!.subarray(-4)], [0, 0, 0xff, 0xff]);
  link.write(Buffer.from('2 APPLY MAILBOX %(UNIQUEID x)\r\n'));
  assert.is(inflateAll(out).toString(), '1 APPLY MESSAGE ()\r\n2 APPLY MAILBOX %(UNIQUEID x)\r\n');
  link.close();
});

test('a large write goes to the pool; writes behind it keep their order, then drain', async () => {
  const out: Buffer[] = [];
  const link = new DeflateLink(6, (b) => out.push(b), (e) => assert.unreachable(e.message));
  const body = Buffer.concat([crypto.randomBytes(ASYNC_DEFLATE_MIN), Buffer.alloc(ASYNC_DEFLATE_MIN, 'a')]);
  const drained = new Promise<void>((resolve) => link.once('drain', resolve));
  assert.is(link.write(body), false, 'the caller waits for drain');
  link.write(Buffer.from('tail one\r\n'));
  link.write(Buffer.from('tail two\r\n'));
  assert.is(out.length, 0, 'nothing overtakes the body');
  await drained;
  assert.ok(inflateAll(out).equals(Buffer.concat([body, Buffer.from('tail one\r\ntail two\r\n')])));
  link.close();
});

test('InflateLink reads a zlib stream piece by piece and rejects garbage', () => {
  const text = '* OK replica\r\n'.repeat(500);
  const wire = zlib.deflateRawSync(Buffer.from(text), { finishFlush: zlib.constants.Z_SYNC_FLUSH });
  const link = new InflateLink();
  const got: Buffer[] = [];
  for (let i = 0; i < wire.length; i += 7) got.push(link.push(wire.subarray(i, i + 7)));
  assert.is(Buffer.concat(got).toString(), text);
  link.close();
  const bad = new InflateLink();
  try {
    bad.push(Buffer.from([0xff, 0xff, 0xff, 0xff, 0x00]));
    assert.unreachable('garbage must not inflate');
  } catch (e) {
    assert.is((e as NodeJS.ErrnoException).code, 'EZLIB');
  } finally {
    bad.close();
  }
});

test.run();
