import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ContentMemo } from '../../src/cyrus/content-memo.js';

test('a value is reused only for the very bytes it was decoded from', () => {
  const memo = new ContentMemo<{ text: string }>(8);
  let decodes = 0;
  const decode = (b: Buffer) => ({ text: b.toString('latin1'), n: ++decodes });
  const first = memo.decode(Buffer.from('abc'), decode);
  assert.is(memo.decode(Buffer.from('abc'), decode), first);
  assert.is(decodes, 1);
  assert.is(memo.decode(Buffer.from('abd'), decode).text, 'abd');
  assert.is(memo.decode(Buffer.from([0xff, 0x00]), decode).text, '\xff\x00');
  assert.is(memo.decode(Buffer.from([0xff, 0x01]), decode).text, '\xff\x01'); // 8-bit bytes stay distinct keys
  assert.is(decodes, 4);
});

test('a failed decode is not kept, and the least recently used goes first', () => {
  const memo = new ContentMemo<string>(2);
  let decodes = 0;
  const decode = (b: Buffer) => {
    decodes++;
    if (b.toString() === 'bad') throw new Error('damaged');
    return b.toString();
  };
  assert.throws(() => memo.decode(Buffer.from('bad'), decode), /damaged/);
  assert.throws(() => memo.decode(Buffer.from('bad'), decode), /damaged/);
  assert.is(memo.size, 0);
  memo.decode(Buffer.from('a'), decode);
  memo.decode(Buffer.from('b'), decode);
  memo.decode(Buffer.from('a'), decode); // a is now the most recent
  memo.decode(Buffer.from('c'), decode); // evicts b
  const before = decodes;
  memo.decode(Buffer.from('a'), decode);
  assert.is(decodes, before);
  memo.decode(Buffer.from('b'), decode);
  assert.is(decodes, before + 1);
  assert.throws(() => new ContentMemo(0), /at least 1/);
});

test.run();
