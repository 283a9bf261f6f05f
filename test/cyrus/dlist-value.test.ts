import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { DlistSyntaxError, isKvList, kvString, parseDlistValue, toBigNum, toNum32, type DValue } from '../../src/cyrus/dlist-value.js';

const kv = (...entries: Array<[string, DValue]>): DValue => ({ kind: 'kvlist', entries });
const list = (...items: DValue[]): DValue => ({ kind: 'list', items });

test('mailboxes.db N value', () => {
  const v = parseDlistValue('%(T e I 3f2a-uuid P default V 1700000000 C 1 F 7 M 1700000123 A %(tom lrswipkxtecdan anyone p))');
  assert.equal(
    v,
    kv(['T', 'e'], ['I', '3f2a-uuid'], ['P', 'default'], ['V', '1700000000'], ['C', '1'], ['F', '7'], ['M', '1700000123'], ['A', kv(['tom', 'lrswipkxtecdan'], ['anyone', 'p'])]),
  );
});

test('I value with history list of kvlists and empty H', () => {
  const v = parseDlistValue('%(T e N user\x1ftom P default H (%(N user\x1fold M 5 T e) %(N x T ed)))');
  assert.equal(v, kv(['T', 'e'], ['N', 'user\x1ftom'], ['P', 'default'], ['H', list(kv(['N', 'user\x1fold'], ['M', '5'], ['T', 'e']), kv(['N', 'x'], ['T', 'ed']))]));
  assert.equal(parseDlistValue('%(H ())'), kv(['H', list()]));
});

test('NIL, quoted strings with escapes, literals', () => {
  assert.equal(parseDlistValue('(a NIL "NIL" "" "x \\"y\\" \\\\z")'), list('a', null, 'NIL', '', 'x "y" \\z'));
  assert.equal(parseDlistValue('%(A {3}\r\nx y B {2+}\r\nab)'), kv(['A', 'x y'], ['B', 'ab']));
  assert.equal(parseDlistValue('%(U ($Forwarded NIL Junk))'), kv(['U', list('$Forwarded', null, 'Junk')]));
});

test('atoms end at SP with trailing parens stripped, like Cyrus', () => {
  assert.equal(parseDlistValue('%(A %(x y)) '.trimEnd()), kv(['A', kv(['x', 'y'])]));
  assert.equal(parseDlistValue('(a)b c)'), list('a)b', 'c'));
  assert.equal(parseDlistValue('a'), 'a');
  assert.equal(parseDlistValue('(x )'), list('x'));
});

test('malformed input is rejected', () => {
  for (const bad of ['%(A', '(a b', '% (a b)', '%[a b]', '"unterminated', '{5}\r\nab', '%(NIL x)', '(a) trailing', '%(A {3}\r\nxyz)x']) {
    assert.throws(() => parseDlistValue(bad), (e: unknown) => e instanceof DlistSyntaxError, JSON.stringify(bad));
  }
  // Cyrus' bound: a literal may not end the buffer.
  assert.throws(() => parseDlistValue("{2}\r\nab"), (e: unknown) => e instanceof DlistSyntaxError);
});

test('binary-safe input and helpers', () => {
  const v = parseDlistValue(Buffer.from('%(N user\x1ftom\x1fSent V 4294967297 C 18446744073709551615)', 'latin1'));
  assert.ok(isKvList(v));
  if (!isKvList(v)) return;
  assert.is(kvString(v, 'N'), 'user\x1ftom\x1fSent');
  assert.is(toNum32(kvString(v, 'V')), 1);
  assert.is(toBigNum(kvString(v, 'C')), 18446744073709551615n);
  assert.is(toBigNum(undefined), 0n);
  assert.is(toBigNum('12abc'), 12n);
});

test.run();
