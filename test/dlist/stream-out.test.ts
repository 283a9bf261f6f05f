// stream-out.ts: file literal bodies go from disk to the socket in bounded
// pieces with backpressure, and a body of the wrong size is refused before
// (path) or as soon as (stream) it is seen.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable, Writable } from 'node:stream';
import { DlistError, ResponseParser, file, list, printCommand, printItem, writeChunks } from '../../src/dlist/index.js';
import type { ResponseEvent } from '../../src/dlist/index.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dlist-stream-'));
process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }));

/** A slow sink with a tiny buffer, recording write sizes and how often it pushed back. */
function slowSink(hwm = 16 * 1024) {
  const stats = { writes: 0, maxWrite: 0, bytes: 0, hash: createHash('sha1'), head: Buffer.alloc(0), drains: 0 };
  const sink = new Writable({
    highWaterMark: hwm,
    write(chunk: Buffer, _enc, cb) {
      stats.writes++;
      stats.maxWrite = Math.max(stats.maxWrite, chunk.length);
      stats.bytes += chunk.length;
      stats.hash.update(chunk);
      if (stats.head.length < 200) stats.head = Buffer.concat([stats.head, chunk]).subarray(0, 200);
      setImmediate(cb);
    },
  });
  sink.on('drain', () => stats.drains++);
  return { sink, stats };
}

test('a 24 MiB file literal streams from disk in bounded pieces with backpressure', async () => {
  const size = 24 * 1024 * 1024;
  const body = randomBytes(size);
  const guid = createHash('sha1').update(body).digest('hex');
  const spool = path.join(dir, 'big.');
  fs.writeFileSync(spool, body);
  const chunks = printCommand('APPLY', list('MESSAGE', [file('default', guid, size, { path: spool })]));
  const header = `APPLY MESSAGE (%{default ${guid} ${size}}\r\n`;
  const expect = createHash('sha1').update(header).update(body).update(')\r\n').digest('hex');
  const { sink, stats } = slowSink();
  const heapBefore = process.memoryUsage().heapUsed;
  const rssBefore = process.memoryUsage().rss;
  const n = await writeChunks(sink, chunks, { readSize: 64 * 1024 });
  assert.is(n, header.length + size + 3);
  assert.is(stats.bytes, n);
  assert.is(stats.hash.digest('hex'), expect);
  assert.is(stats.head.subarray(0, header.length).toString(), header);
  // Read in 64 KiB pieces, never in one go, and the sink's pushback was honoured.
  assert.ok(stats.maxWrite <= 64 * 1024, `max write ${stats.maxWrite}`);
  assert.ok(stats.writes >= size / (64 * 1024));
  assert.ok(stats.drains > 100, `drains ${stats.drains}`);
  // Nothing near the body's size was retained (the body Buffer above is the test's own).
  const grown = process.memoryUsage().heapUsed - heapBefore;
  assert.ok(grown < size / 2, `heap grew ${grown}`);
  assert.ok(process.memoryUsage().rss - rssBefore < size, 'rss grew by a body');
});

test('stat() refuses a spool file of the wrong size before writing anything', async () => {
  const spool = path.join(dir, 'short.');
  fs.writeFileSync(spool, 'abc');
  const g = 'a'.repeat(40);
  const { sink, stats } = slowSink();
  try {
    await writeChunks(sink, printCommand('APPLY', list('MESSAGE', [file('default', g, 4, { path: spool })])));
    assert.unreachable();
  } catch (e) {
    assert.instance(e, DlistError);
    assert.is((e as DlistError).code, 'FILE_SIZE');
  }
  assert.is(stats.bytes, 0);
});

test('a stream source must deliver exactly size bytes', async () => {
  const g = 'b'.repeat(40);
  for (const [pieces, ok] of [
    [['ab', 'cd'], true],
    [['ab'], false],
    [['abc', 'de'], false],
  ] as const) {
    const { sink, stats } = slowSink();
    const chunks = printCommand('APPLY', list('MESSAGE', [file('p', g, 4, { open: () => Readable.from(pieces.map((x) => Buffer.from(x))) })]));
    const run = writeChunks(sink, chunks);
    if (ok) {
      await run;
      sink.end();
      await once(sink, 'finish');
      assert.is(stats.bytes, `APPLY MESSAGE (%{p ${g} 4}\r\nabcd)\r\n`.length);
    } else {
      await run.then(
        () => assert.unreachable(),
        (e) => assert.is((e as DlistError).code, 'FILE_SIZE'),
      );
    }
  }
});

test('a destroyed sink rejects instead of hanging', async () => {
  const sink = new Writable({ highWaterMark: 1, write: () => {} }); // never calls back: always full
  const g = 'c'.repeat(40);
  const run = writeChunks(sink, printCommand('APPLY', list('MESSAGE', [file('p', g, 3, Buffer.from('abc'))])));
  setTimeout(() => sink.destroy(new Error('peer went away')), 10);
  await run.then(
    () => assert.unreachable(),
    (e) => assert.match(String(e), /peer went away/),
  );
});

test('a streamed command parses back on the other side', async () => {
  const body = randomBytes(300000);
  const guid = createHash('sha1').update(body).digest('hex');
  const spool = path.join(dir, 'mid.');
  fs.writeFileSync(spool, body);
  const parser = new ResponseParser();
  const got: ResponseEvent[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _e, cb) {
      got.push(...parser.feed(chunk));
      cb();
    },
  });
  const item = { name: 'MESSAGE', value: file('default', guid, body.length, { path: spool }) };
  await writeChunks(sink, [Buffer.from('* '), ...printItem(item), Buffer.from('\r\n')], { readSize: 4096 });
  sink.end();
  await once(sink, 'finish');
  got.push(...parser.end());
  assert.is(got.length, 1);
  const ev = got[0];
  assert.ok(ev?.kind === 'item' && ev.item.value.kind === 'file');
  assert.ok(ev.item.value.asBytes()?.equals(body));
  assert.is(ev.item.value.guid, guid);
});

test.run();
