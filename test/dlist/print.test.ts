// The printer against Cyrus' rules (prot_printastring, dlist_print @3.6.1)
// and the builders' validation.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  ATOM,
  LITERAL,
  QUOTED,
  astringForm,
  atom,
  bytes,
  chunksSize,
  chunksToBuffer,
  file,
  flag,
  flags,
  guid,
  hex64,
  isBodyRef,
  keyed,
  kvlist,
  list,
  nil,
  num,
  printItem,
  printNode,
} from '../../src/dlist/index.js';
import type { Node } from '../../src/dlist/index.js';
import { bin, throwsA } from './helpers.js';

const p = (n: Node, literal?: 'plus' | 'sync') => bin(printNode(n, literal ? { literal } : {}));

test('astring: atoms print bare', () => {
  for (const s of ['user.alice', 'default', 'P', '0', '1795625197', '$Label1', '/vendor/cmu/cyrus-imapd/savedate', 'a]b', 'x-y_z!#&+,-./:;<=>?@[]^`|~', '\x1f', 'nil', 'NIl']) {
    assert.is(astringForm(s), ATOM, JSON.stringify(s));
    assert.is(p(atom(s)), s);
  }
});

test('astring: quoted strings, no escapes (TAB, space, specials other than % " \\)', () => {
  const cases: Array<[string, string]> = [
    ['', '""'],
    ['NIL', '"NIL"'],
    ['alice\tlrswipkxtecdan\t', '"alice\tlrswipkxtecdan\t"'],
    ['user.cassandane.My Folder', '"user.cassandane.My Folder"'],
    ['a(b', '"a(b"'],
    ['a)b', '"a)b"'],
    ['a{b', '"a{b"'],
    ['a*b', '"a*b"'],
    ['\x01', '"\x01"'],
    ['\x7f', '"\x7f"'],
    ['1:5,9', '1:5,9'],
  ];
  for (const [s, want] of cases) assert.is(p(atom(s)), want, JSON.stringify(s));
});

test('astring: % " \\ CR LF NUL and 8-bit force a {n+} literal', () => {
  const cases: Array<[string, string]> = [
    ['user.a%b', '{8+}\r\nuser.a%b'],
    ['\\Sent', '{5+}\r\n\\Sent'],
    ['say "hi"', '{8+}\r\nsay "hi"'],
    ['a\r\nb', '{4+}\r\na\r\nb'],
    ['a\nb', '{3+}\r\na\nb'],
    ['a\rb', '{3+}\r\na\rb'],
  ];
  for (const [s, want] of cases) {
    assert.is(astringForm(s), LITERAL, JSON.stringify(s));
    assert.is(p(atom(s)), want, JSON.stringify(s));
  }
  assert.is(p(bytes(Buffer.from([0x61, 0, 0x62]))), '{3+}\r\na\0b');
  // Text is UTF-8 on the wire: 2 chars, 4 bytes.
  assert.is(p(atom('é€')), '{5+}\r\n' + Buffer.from('é€', 'utf8').toString('latin1'));
  assert.is(p(atom('a%b'), 'sync'), '{3}\r\na%b');
});

test('astring: 1023 bytes is the longest atom or quoted string', () => {
  assert.is(astringForm('a'.repeat(1023)), ATOM);
  assert.is(astringForm('a'.repeat(1024)), LITERAL);
  assert.is(astringForm(' '.repeat(1023)), QUOTED);
  assert.is(astringForm(' '.repeat(1024)), LITERAL);
  assert.is(p(atom('a'.repeat(1024))), '{1024+}\r\n' + 'a'.repeat(1024));
});

test('numbers, hex, guid, nil', () => {
  assert.is(p(num(0)), '0');
  assert.is(p(num(4294967295)), '4294967295');
  assert.is(p(num(Number.MAX_SAFE_INTEGER)), '9007199254740991');
  assert.is(p(num(18446744073709551615n)), '18446744073709551615');
  throwsA(() => num(-1), RangeError);
  throwsA(() => num(1.5), RangeError);
  throwsA(() => num(1n << 64n), RangeError);
  assert.is(p(hex64(0x1234n)), '0000000000001234');
  assert.is(p(hex64(0xffffffffffffffffn)), 'ffffffffffffffff');
  assert.is(p(guid('B0EA583DABA4ED785918654FB25AFC73B4FDDC16')), 'b0ea583daba4ed785918654fb25afc73b4fddc16');
  throwsA(() => guid('abc'), TypeError);
  assert.is(p(nil()), 'NIL');
  assert.is(p(list([null, 'NIL'])), '(NIL "NIL")');
});

test('typed accessors', () => {
  assert.is(num(18446744073709551615n).asBigInt(), 18446744073709551615n);
  assert.is(num(18446744073709551615n).asNumber(), undefined);
  assert.is(atom('18446744073709551616').asBigInt(), undefined);
  assert.is(atom('9007199254740992').asNumber(), undefined);
  assert.is(atom('007').asNumber(), 7);
  assert.is(atom('').asNumber(), undefined);
  assert.is(atom('-1').asNumber(), undefined);
  assert.is(atom('12a').asBigInt(), undefined);
  assert.is(hex64(255).asHex(), 255n);
  assert.is(atom('é').asString(), 'é');
  assert.is(atom('é').asBinary(), '\xc3\xa9');
  assert.is(nil().asString(), undefined);
  assert.ok(nil().isNil());
  assert.is(atom('x').get('A'), undefined);
  assert.is(list([1]).asList()?.[0]?.asNumber(), 1);
});

test('flags print raw; builders reject flags that would not read back', () => {
  assert.is(p(flags(['\\Deleted', '\\Answered', '\\Flagged', '\\Draft', '\\Expunged', '\\Seen', '$Label1'])), '(\\Deleted \\Answered \\Flagged \\Draft \\Expunged \\Seen $Label1)');
  assert.is(p(flags([])), '()');
  for (const bad of ['', '\\', 'a b', 'NIL', '\\Se(en', 'x"', 'a%b', '{3}', '\\a\\b']) throwsA(() => flag(bad), TypeError, bad);
});

test('kvlist keeps insertion order, skips undefined, coerces plain values', () => {
  const item = kvlist('MAILBOX', { UNIQUEID: 'u1', MBOXTYPE: undefined, LAST_UID: 3, HIGHESTMODSEQ: 9007199254740993n, ACL: 'a\tlr\t', OPTIONS: '', RECORD: [] });
  assert.is(bin(printItem(item)), 'MAILBOX %(UNIQUEID u1 LAST_UID 3 HIGHESTMODSEQ 9007199254740993 ACL "a\tlr\t" OPTIONS "" RECORD ())');
  assert.is(item.value.get('HIGHESTMODSEQ')?.asBigInt(), 9007199254740993n);
  assert.equal([...item.value.entries()].map(([k]) => k), ['UNIQUEID', 'LAST_UID', 'HIGHESTMODSEQ', 'ACL', 'OPTIONS', 'RECORD']);
  // Pairs allow repeated keys (first one wins on get, as in Cyrus).
  const dup = kvlist([['A', 1], ['A', 2]]);
  assert.is(p(dup), '%(A 1 A 2)');
  assert.is(dup.get('A')?.asNumber(), 1);
  // Keys print by the astring rule too.
  assert.is(p(kvlist({ 'MY KEY': 1 })), '%("MY KEY" 1)');
  assert.is(bin(printItem(keyed('USER', 'alice')))  , 'USER alice');
  assert.is(bin(printItem(list('MAILBOXES', ['user.a', 'user.cassandane.My Folder', 'user.a%b']))), 'MAILBOXES (user.a "user.cassandane.My Folder" {8+}\r\nuser.a%b)');
  assert.is(p(kvlist({})), '%()');
  assert.is(p(list([list([]), kvlist({ A: list(['x']) })])), '(() %(A (x)))');
});

test('file literals: in-memory bodies pass through as their own chunks, disk bodies as BodyRefs', () => {
  const body = Buffer.from('hello');
  const g = '6f1ed002ab5595859014ebf0951522d9e4e5b2a0';
  const chunks = printItem(list('MESSAGE', [file('default', g, 5, body), file('default', g, 7, { path: '/spool/1.' })]));
  assert.is(chunks.length, 5);
  assert.is(chunks[0]!.toString(), `MESSAGE (%{default ${g} 5}\r\n`);
  assert.is(chunks[1], body); // not copied
  assert.is(chunks[2]!.toString(), ` %{default ${g} 7}\r\n`);
  assert.ok(isBodyRef(chunks[3]!));
  assert.is(chunks[4]!.toString(), ')');
  assert.is(chunksSize(chunks), chunksToBuffer(chunks.slice(0, 3)).length + 7 + 1);
  throwsA(() => chunksToBuffer(chunks), TypeError);
  throwsA(() => file('default', g, 6, body), RangeError);
  throwsA(() => file('default', 'xyz', 5, body), TypeError);
  assert.is(bin(printNode(file('p 1', g, 0, []))), `%{"p 1" ${g} 0}\r\n`);
});

test.run();
