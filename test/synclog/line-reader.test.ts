import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import fs from 'node:fs';
import path from 'node:path';
import { LINE_END, LineReader } from '../../src/synclog/line-reader.js';
import { removeDir, tempChannel } from './fixtures/channel-helpers.js';

interface ReadLine {
  text: string;
  offset: number;
  ending: number;
  length: number;
}

async function readAll(file: string, chunkBytes: number, maxLines: number, startOffset = 0): Promise<{ lines: ReadLine[]; ends: number[] }> {
  const reader = await LineReader.open(file, startOffset, { chunkBytes, maxLines });
  const lines: ReadLine[] = [];
  const ends: number[] = [];
  try {
    for (let batch = await reader.next(); batch !== null; batch = await reader.next()) {
      assert.ok(batch.count >= 1 && batch.count <= maxLines);
      for (let i = 0; i < batch.count; i++) {
        const start = batch.starts[i]!;
        const end = batch.ends[i]!;
        const ending = batch.endings[i]!;
        lines.push({
          text: batch.buf.toString('latin1', start, end),
          offset: batch.fileOffset + start,
          ending,
          length: ending === LINE_END.OVERSIZED ? batch.oversizedLength : end - start,
        });
      }
      ends.push(batch.endOffset);
    }
  } finally {
    await reader.close();
  }
  return { lines, ends };
}

test('property: batches reassemble the file exactly, at line boundaries', async () => {
  const dir = tempChannel();
  try {
    const file = path.join(dir, 'log-run');
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.string({ unit: fc.constantFrom('a', 'b', ' ', '"', '\xe9'), maxLength: 30 }), { maxLength: 60 }),
        fc.boolean(),
        fc.integer({ min: 32, max: 200 }),
        fc.integer({ min: 1, max: 9 }),
        async (texts, torn, chunkBytes, maxLines) => {
          const content = texts.join('\n') + (torn || texts.length === 0 ? '' : '\n');
          fs.writeFileSync(file, content, 'latin1');
          const { lines, ends } = await readAll(file, chunkBytes, maxLines);
          const unterminated = content !== '' && !content.endsWith('\n');
          const expected = content === '' ? [] : (unterminated ? content : content.slice(0, -1)).split('\n');
          assert.equal(lines.map((line) => line.text), expected);
          let offset = 0;
          lines.forEach((line, i) => {
            assert.is(line.offset, offset);
            const last = i === lines.length - 1;
            assert.is(line.ending, last && unterminated ? LINE_END.EOF : LINE_END.LF);
            offset += Buffer.byteLength(line.text, 'latin1') + 1;
          });
          // Every batch end is a line start (or the end of the file): a safe resume point.
          const starts = new Set([...lines.map((line) => line.offset), content.length]);
          for (const end of ends) assert.ok(starts.has(end), `batch end ${end}`);
          return true;
        },
      ),
      { numRuns: 300 },
    );
  } finally {
    removeDir(dir);
  }
});

test('lines longer than the buffer come as one OVERSIZED prefix, and reading goes on after them', async () => {
  const dir = tempChannel();
  try {
    const file = path.join(dir, 'log-run');
    const long = 'x'.repeat(1000);
    fs.writeFileSync(file, `a\n${long}\nb\n${long}`, 'latin1');
    const { lines } = await readAll(file, 64, 10);
    assert.equal(lines.map((line) => [line.text.length, line.ending, line.length]), [
      [1, LINE_END.LF, 1],
      [64, LINE_END.OVERSIZED, 1000],
      [1, LINE_END.LF, 1],
      [64, LINE_END.OVERSIZED, 1000],
    ]);
    assert.is(lines[2]!.offset, 1003);
  } finally {
    removeDir(dir);
  }
});

test('reading resumes from an offset', async () => {
  const dir = tempChannel();
  try {
    const file = path.join(dir, 'log-run');
    fs.writeFileSync(file, 'MAILBOX a\nMAILBOX b\nMAILBOX c\n');
    const { lines } = await readAll(file, 4096, 100, 10);
    assert.equal(lines.map((line) => line.text), ['MAILBOX b', 'MAILBOX c']);
    assert.is((await readAll(file, 4096, 100, 30)).lines.length, 0);
  } finally {
    removeDir(dir);
  }
});

test('an oversized line in a file that shrinks under the reader ends there, not in an endless loop', async () => {
  const dir = tempChannel();
  try {
    const file = path.join(dir, 'log-run');
    fs.writeFileSync(file, 'MAILBOX ' + 'x'.repeat(100) + '\n');
    const reader = await LineReader.open(file, 0, { chunkBytes: 16 });
    try {
      fs.truncateSync(file, 40);
      const batch = await reader.next();
      assert.is(batch?.endings[0], LINE_END.OVERSIZED);
      assert.is(batch?.oversizedLength, 40);
      assert.is(reader.offset, 40);
      fs.truncateSync(file, 0);
      assert.is(await reader.next(), null, 'a file shrunk below the offset reads as ended');
    } finally {
      await reader.close();
    }
  } finally {
    removeDir(dir);
  }
});

test.run();
