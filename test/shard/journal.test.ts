import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import path from 'node:path';
import { parseLine, type SyncLogLine } from '../../src/synclog/index.js';
import { RetryJournal, parseRecord } from '../../src/shard/index.js';
import { escapeKey, queueRecord, unescapeKey } from '../../src/shard/journal-record.js';
import { printLineText } from '../../src/shard/line-text.js';
import { removeDir, tempChannel } from './fixtures/helpers.js';

const line = (text: string): SyncLogLine => {
  const parsed = parseLine(Buffer.from(text, 'latin1'));
  if (!parsed.ok) throw new Error(text);
  return parsed.line;
};
const texts = (lines: SyncLogLine[]): string[] => lines.map(printLineText);

async function open(dir: string, compactMinBytes?: number): Promise<RetryJournal> {
  return RetryJournal.open({ file: path.join(dir, 'retry.0'), tempFile: path.join(dir, 'retry.0.tmp'), compactMinBytes });
}

test('keys survive the escaping, whatever bytes they hold', () => {
  for (const key of ['john.smith', '', '@', '*', 'a b', '100%', 'tab\there', 'caf\xe9@ex', '%41']) {
    const escaped = escapeKey(key);
    assert.not.match(escaped, /[ \n]/);
    assert.is(unescapeKey(escaped), key);
    const record = parseRecord(queueRecord(key, 5, 'SEEN "a b" x'));
    assert.equal(record, { kind: '+', key, bornMs: 5, line: 'SEEN "a b" x' });
  }
  assert.is(parseRecord('+ k 12'), null, 'torn');
  assert.is(parseRecord('- k'), null);
  assert.is(parseRecord('! k 1 2x'), null);
});

test('pending lines, retry state and confirmations survive a reopen', async () => {
  const dir = tempChannel();
  try {
    let journal = await open(dir);
    await journal.queue('u1', [line('APPEND user.u1'), line('SEEN u1 "a b"')], 1000, { attempts: 2, dueMs: 5000 });
    await journal.queue('u2', [line('MAILBOX user.u2.x')], 2000);
    await journal.queue('u1', [line('SUB u1 user.u1.y')], 3000);
    await journal.confirm('u2', 1);
    await journal.close();

    journal = await open(dir);
    assert.is(journal.index.lines, 3);
    assert.not.ok(journal.has('u2'));
    const u1 = journal.queueOf('u1')!;
    assert.equal([u1.attempts, u1.dueMs], [2, 5000]);
    assert.equal(texts(journal.readHead('u1', 10)), ['APPEND user.u1', 'SEEN u1 "a b"', 'SUB u1 user.u1.y']);
    assert.equal(texts(journal.readHead('u1', 2)), ['APPEND user.u1', 'SEEN u1 "a b"']);
    assert.is(journal.index.oldestBornMs(), 1000);
    await journal.confirm('u1', 2);
    assert.equal([u1.attempts, u1.dueMs], [0, 0], 'a success resets the backoff');
    await journal.close();

    journal = await open(dir);
    assert.equal(texts(journal.readHead('u1', 10)), ['SUB u1 user.u1.y']);
    assert.equal([journal.queueOf('u1')!.attempts, journal.queueOf('u1')!.dueMs], [0, 0]);
    await journal.confirm('u1', 1);
    await journal.flush();
    assert.not.ok(fs.existsSync(path.join(dir, 'retry.0')), 'an empty journal is removed');
    await journal.close();
  } finally {
    removeDir(dir);
  }
});

test('a torn last record is cut off, whatever it looks like', async () => {
  const dir = tempChannel();
  try {
    let journal = await open(dir);
    await journal.queue('u', [line('APPEND user.u.a'), line('APPEND user.u.b')], 1);
    await journal.close();
    fs.appendFileSync(path.join(dir, 'retry.0'), '+ u 1 APPEND user.u.');
    journal = await open(dir);
    await journal.queue('u', [line('APPEND user.u.c')], 1);
    await journal.close();
    journal = await open(dir);
    assert.equal(texts(journal.readHead('u', 10)), ['APPEND user.u.a', 'APPEND user.u.b', 'APPEND user.u.c']);
    await journal.close();
  } finally {
    removeDir(dir);
  }
});

test('compaction keeps exactly the pending lines, in order, and a leftover temp file is ignored', async () => {
  const dir = tempChannel();
  try {
    const journal = await open(dir, 4096);
    const expected = new Map<string, string[]>();
    for (let round = 0; round < 40; round++) {
      for (const key of ['a', 'b', 'c']) {
        const lines = [line(`APPEND user.${key}.r${round}x`), line(`APPEND user.${key}.r${round}y`)];
        expected.set(key, [...(expected.get(key) ?? []), ...texts(lines)]);
        await journal.queue(key, lines, round, round % 3 === 0 ? { attempts: round, dueMs: round } : undefined);
      }
      for (const key of ['a', 'b']) {
        await journal.confirm(key, 2);
        expected.set(key, expected.get(key)!.slice(2));
      }
    }
    await journal.flush();
    const size = fs.statSync(path.join(dir, 'retry.0')).size;
    assert.ok(size < 12_000, `compacted (size ${size})`);
    for (const [key, lines] of expected) assert.equal(texts(journal.readHead(key, 1000)), lines, key);
    await journal.close();

    fs.writeFileSync(path.join(dir, 'retry.0.tmp'), 'garbage');
    const reopened = await open(dir, 4096);
    for (const [key, lines] of expected) assert.equal(texts(reopened.readHead(key, 1000)), lines, key);
    assert.not.ok(fs.existsSync(path.join(dir, 'retry.0.tmp')));
    await reopened.close();
  } finally {
    removeDir(dir);
  }
});

test.run();
