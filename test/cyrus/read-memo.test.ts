import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { MemoryDb } from '../../src/cyrus/cyrusdb/memory-db.js';
import { DbMemo } from '../../src/cyrus/cyrusdb/read-memo.js';
import type { Db } from '../../src/cyrus/cyrusdb/types.js';

const db = (pairs: Array<[string, string]>) => new MemoryDb('flat', '', pairs.map(([k, v]) => ({ key: Buffer.from(k), value: Buffer.from(v) })));

/** Counts reads, so a test can tell a memo answer from a file read. */
function counting(inner: Db) {
  const counter = { reads: 0 };
  return {
    counter,
    reader: {
      get: (k: Buffer | string) => (counter.reads++, inner.get(k)),
      entries: (p?: Buffer | string) => (counter.reads++, inner.entries(p)),
    },
  };
}

test('a memo answers what was read, at the same identity only', () => {
  const memo = new DbMemo();
  const { counter, reader } = counting(db([['Na', '1'], ['Nb', '2'], ['Ix', '3']]));
  const fn = (r: typeof reader) => [r.get('Na')?.toString(), r.get('Nzz'), [...r.entries('N')].map((e) => e.key.toString())];
  assert.is(memo.answer('id1', fn), undefined, 'nothing kept yet');
  const first = fn(memo.record('id1', reader) as typeof reader);
  assert.equal(first, ['1', undefined, ['Na', 'Nb']]);
  assert.is(counter.reads, 3);
  assert.equal(memo.answer('id1', fn)?.value, first, 'absent keys are kept too');
  assert.is(counter.reads, 3, 'answered without reading');
  assert.is(memo.answer('id2', fn), undefined, 'another identity: the file changed');
  assert.is(memo.answer(null, fn), undefined, 'the file is gone');
  assert.is(memo.answer('id1', (r) => r.get('Nb')), undefined, 'a key never read is a miss');
});

test('a new identity starts the memo over', () => {
  const memo = new DbMemo();
  memo.record('id1', db([['Na', 'old']])).get('Na');
  memo.record('id2', db([['Na', 'new']])).get('Nb');
  assert.is(memo.answer('id1', (r) => r.get('Na')), undefined);
  assert.is(memo.answer('id2', (r) => r.get('Na')), undefined, 'what was read at id1 is gone');
  assert.equal(memo.answer('id2', (r) => r.get('Nb')), { value: undefined });
});

test('errors other than a miss reach the caller', () => {
  const memo = new DbMemo();
  memo.record('id1', db([['Na', '1']])).get('Na');
  assert.throws(() => memo.answer('id1', () => {
    throw new Error('boom');
  }), /boom/);
});

test.run();
