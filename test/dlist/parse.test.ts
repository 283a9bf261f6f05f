// The parsers: DLIST grammar as dlist_parse accepts it, response
// classification as sync_parse_response reads it, commands, limits.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  CommandParser,
  DlistError,
  ResponseParser,
  literalAtEnd,
  parseCommands,
  parseItem,
  parseNode,
  parseResponses,
  printResponse,
  syncCode,
} from '../../src/dlist/index.js';
import type { ResponseEvent } from '../../src/dlist/index.js';
import { bin, plain, throwsA } from './helpers.js';

const G = '6f1ed002ab5595859014ebf0951522d9e4e5b2a0';

test('values: atoms, NIL, quoted with escapes, flags, lists, kvlists', () => {
  assert.equal(plain(parseNode('(a NIL "NIL" "" "a\\"b\\\\c" \\Seen $Label1)')), ['a', null, 'NIL', '', 'a"b\\c', { flag: '\\Seen' }, '$Label1']);
  assert.equal(plain(parseNode('%(A 1 B (x y) C %(D NIL))')), { kv: [['A', '1'], ['B', ['x', 'y']], ['C', { kv: [['D', null]] }]] });
  assert.equal(plain(parseNode('()')), []);
  assert.equal(plain(parseNode('%()')), { kv: [] });
});

test('values: Cyrus is liberal — atoms run to whitespace ( ) "; separators optional after brackets', () => {
  assert.equal(plain(parseNode('(a%b]* x{3} *)')), ['a%b]*', 'x{3}', '*']);
  assert.equal(plain(parseNode('(a(b)c)')), ['a', ['b'], 'c']);
  assert.equal(plain(parseNode('("a""b")')), ['a', 'b']);
  assert.equal(plain(parseNode('(  a \t b  )')), ['a', 'b']);
  assert.equal(plain(parseNode('%(A(1)B"x")')), { kv: [['A', ['1']], ['B', 'x']] });
  // A key may be quoted or a literal, and NIL is just a name there.
  assert.equal(plain(parseNode('%("MY KEY" 1 NIL 2 {1+}\r\nK 3)')), { kv: [['MY KEY', '1'], ['NIL', '2'], ['K', '3']] });
});

test('literals: {n} and {n+}, bodies with CRLF, NUL, 8-bit, parens', () => {
  assert.equal(plain(parseNode('(a {5+}\r\n\\Sent b)')), ['a', '\\Sent', 'b']);
  assert.equal(plain(parseNode('({4}\r\n(\r\n) {0}\r\n)')), ['(\r\n)', '']);
  assert.equal(plain(parseNode('{3}\r\na\0\xff')), 'a\0\xff');
  assert.equal(plain(parseNode('({1+}\r\nx{1+}\r\ny)')), ['x', 'y']);
  throwsA(() => parseNode('{3}\na\0\xff'), DlistError); // {n} needs CRLF
  throwsA(() => parseNode('{1+}\r\n\0 x'), DlistError); // trailing garbage
  throwsA(() => parseNode('%({1+}\r\n\0 x)'), DlistError); // NUL in a key
});

test('file literals: header, optional CR, body followed by SP or )', () => {
  const n = parseNode(`(%{default ${G} 5}\r\nhello %{p2 ${G.toUpperCase()} 3}\nabc)`);
  assert.equal(plain(n), [{ file: ['default', G, 5, 'hello'] }, { file: ['p2', G, 3, 'abc'] }]);
  throwsA(() => parseNode(`%{default abc 3}\r\nabc`), DlistError);
  throwsA(() => parseNode(`%[default ${G} 3}`), DlistError);
  throwsA(() => parseNode(`% (a)`), DlistError);
});

test('syntax errors are DlistError, never another exception', () => {
  for (const bad of ['(', ')', '(a', '%(A)', '%(A 1', '"abc', '"a\\', '{x}', '{3+}', 'a b', '', '%', '"a\rb"']) {
    try {
      parseNode(bad);
      assert.unreachable(JSON.stringify(bad));
    } catch (e) {
      assert.instance(e, DlistError, JSON.stringify(bad));
    }
  }
});

test('depth limit', () => {
  assert.equal(plain(parseNode('(((x)))', { maxDepth: 3 })), [[['x']]]);
  try {
    parseNode('(((x)))', { maxDepth: 2 });
    assert.unreachable();
  } catch (e) {
    assert.is((e as DlistError).code, 'DEPTH');
  }
  const deep = '('.repeat(100000) + ')'.repeat(100000);
  assert.is(
    parseResponses(`* X ${deep}\r\n`).map((r) => r.kind).join(),
    'untagged',
  );
});

test('keyed lines (sync_parseline): whitespace after the key, exact end of line', () => {
  const it = parseItem('MISSING   (a b)');
  assert.is(it.name, 'MISSING');
  throwsA(() => parseItem('MISSING (a) '), DlistError);
  throwsA(() => parseItem('SIEVE-MAILBOX'), DlistError);
});

function kinds(evs: ResponseEvent[]): string[] {
  return evs.map((e) => (e.kind === 'status' ? `${e.tag ?? ''}:${e.status}:${e.code}` : e.kind));
}

test('responses: csync finals and their sync codes (§3.8)', () => {
  const lines = [
    'OK success',
    'NO IMAP_SYNC_CHECKSUM Checksum Failure',
    'NO IMAP_MAILBOX_NONEXISTENT No Such Mailbox',
    'NO IMAP_PROTOCOL_BAD_PARAMETERS',
    'NO Unknown error',
    'BAD IMAP_PROTOCOL_ERROR Failed to parse APPLY line',
    'BYE shutting down',
    'OK',
  ];
  const evs = parseResponses(lines.map((l) => l + '\r\n').join(''));
  assert.equal(kinds(evs), [
    ':OK:OK',
    ':NO:IMAP_SYNC_CHECKSUM',
    ':NO:IMAP_MAILBOX_NONEXISTENT',
    ':NO:IMAP_REMOTE_DENIED', // the 3.6.1 quirk: no trailing SP
    ':NO:IMAP_REMOTE_DENIED',
    ':BAD:IMAP_PROTOCOL_ERROR',
    ':BYE:IMAP_BYE_LOGOUT',
    ':OK:OK',
  ]);
  assert.is(syncCode('NO', 'IMAP_SYNC_CHANGED Changed since last sync'), 'IMAP_SYNC_CHANGED');
  const last = evs[7];
  assert.ok(last?.kind === 'status' && last.text === null);
});

test('responses: IMAP-embedded tagged lines, untagged statuses, continuations', () => {
  const data = [
    '* OK [CAPABILITY IMAP4rev1 SASL-IR AUTH=PLAIN] host Cyrus IMAP 3.6.1 server ready',
    'A01 OK [CAPABILITY IMAP4rev1 X-REPLICATION] Success (tls protection)',
    '* MAILBOX %(UNIQUEID u1 MBOXNAME user.a)',
    'S0 OK success',
    'S1 NO IMAP_MAILBOX_LOCKED Mailbox locked',
    '* BYE LOGOUT received',
    'Q01 OK Completed',
    '+ go ahead',
    '+',
    '* Fatal error: cannot open (something',
    'garbage here',
    '',
  ];
  const evs = parseResponses(data.map((l) => l + '\r\n').join(''));
  assert.equal(kinds(evs), ['untagged', 'A01:OK:OK', 'item', 'S0:OK:OK', 'S1:NO:IMAP_MAILBOX_LOCKED', 'untagged', 'Q01:OK:OK', 'continuation', 'continuation', 'untagged', 'unknown', 'unknown']);
  const fatal = evs[9];
  assert.ok(fatal?.kind === 'untagged' && fatal.word === 'Fatal' && typeof fatal.parseError === 'string');
  // Every one prints back as received.
  const back = evs.map((e) => (e.kind === 'error' ? '' : bin(printResponse(e)))).join('');
  assert.is(back, data.map((l) => l + '\r\n').join(''));
});

test('responses: literals inside items, and GET FETCH file literal', () => {
  const body = 'From: a\r\n\r\nhi\r\n';
  const data = `* ANNOTATION %(MBOXNAME user.a ENTRY /specialuse USERID cassandane VALUE {5+}\r\n\\Sent)\r\n* MESSAGE %{default ${G} ${body.length}}\r\n${body}\r\nOK success\r\n`;
  const evs = parseResponses(data);
  assert.equal(kinds(evs), ['item', 'item', ':OK:OK']);
  const ann = evs[0];
  assert.ok(ann?.kind === 'item');
  assert.is(ann.item.value.get('VALUE')?.asString(), '\\Sent');
  const msg = evs[1];
  assert.ok(msg?.kind === 'item' && msg.item.value.kind === 'file');
  assert.is(msg.item.value.asBytes()?.toString('latin1'), body);
  assert.is(evs.map((e) => (e.kind === 'error' ? '' : bin(printResponse(e)))).join(''), data);
  // imapd/master sync_server send {n}: accepted, printed back as {n} on request.
  const sync = parseResponses('* X {3}\r\na"b\r\n');
  assert.is(bin(printResponse(sync[0] as never, { literal: 'sync' })), '* X {3}\r\na"b\r\n');
});

test('incremental: one byte at a time gives the same responses', () => {
  const data = Buffer.from(`* MISSING (${G})\r\n* MESSAGE %{default ${G} 4}\r\nab\r\n\r\nOK success\r\n`, 'latin1');
  const p = new ResponseParser();
  const evs: ResponseEvent[] = [];
  for (let i = 0; i < data.length; i++) {
    evs.push(...p.feed(data.subarray(i, i + 1)));
    if (i < data.length - 1) assert.ok(evs.length < 3);
  }
  evs.push(...p.end());
  assert.equal(kinds(evs), ['item', 'item', ':OK:OK']);
  const m = evs[1];
  assert.ok(m?.kind === 'item');
  assert.is(m.item.value.asBytes()?.toString(), 'ab\r\n');
});

test('truncation: need-more-data while streaming, TRUNCATED at end', () => {
  for (const partial of ['OK succ', '* X {5+}\r\nab', `* M %{default ${G} 9}\r\nabc`, '* X {5+}\r\n']) {
    const p = new ResponseParser();
    assert.equal(p.feed(Buffer.from(partial, 'latin1')), []);
    assert.ok(p.buffered > 0);
    const end = p.end();
    assert.is(end.length, 1);
    assert.ok(end[0]?.kind === 'error' && end[0].fatal && end[0].error.code === 'TRUNCATED');
  }
  assert.equal(new ResponseParser().end(), []);
});

test('limits: line length, literal size, frame size — fatal and sticky', () => {
  const p = new ResponseParser({ maxLineLength: 100 });
  assert.equal(p.feed(Buffer.alloc(60, 0x61)), []);
  const ev = p.feed(Buffer.alloc(60, 0x61));
  assert.ok(ev[0]?.kind === 'error' && ev[0].error.code === 'LINE_TOO_LONG');
  const again = p.feed(Buffer.from('OK\r\n'));
  assert.ok(again[0]?.kind === 'error' && again[0].error.code === 'LINE_TOO_LONG');

  const q = parseResponses('* X {1000001+}\r\n', { maxLiteralSize: 1000000 });
  assert.ok(q[0]?.kind === 'error' && q[0].error.code === 'LITERAL_TOO_LARGE');
  const f = parseResponses(`* M %{default ${G} 99999999999999999999}\r\n`);
  assert.ok(f[0]?.kind === 'error' && f[0].error.code === 'LITERAL_TOO_LARGE');
  const r = parseResponses('* X ({500+}\r\n' + 'a'.repeat(500) + ' {600+}\r\n', { maxFrameSize: 1000 });
  assert.ok(r[0]?.kind === 'error' && r[0].error.code === 'FRAME_TOO_LARGE');
  const many = parseResponses('* X (' + '{0+}\r\n'.repeat(11) + ')\r\n', { maxLiterals: 10 });
  assert.ok(many[0]?.kind === 'error' && many[0].error.code === 'FRAME_TOO_LARGE');
  assert.is(parseResponses('* X (' + '{0+}\r\n'.repeat(10) + ')\r\n', { maxLiterals: 10 })[0]?.kind, 'item');
});

test('literal markers are only recognised at a token start and with CRLF', () => {
  assert.is(literalAtEnd('* X {5+}\r'), 5);
  assert.is(literalAtEnd('* X {5}\r'), 5);
  assert.is(literalAtEnd('* X {5}'), -1);
  assert.is(literalAtEnd('* X a{5}\r'), -1);
  assert.is(literalAtEnd('* X ({5}\r'), 5);
  assert.is(literalAtEnd(`APPLY MESSAGE (%{default ${G} 1104}\r`), 1104);
  assert.is(literalAtEnd(`x %{"my part" ${G} 3}`), 3);
  assert.is(literalAtEnd(`x%{default ${G} 3}\r`), -1);
  assert.is(literalAtEnd('OK {}\r'), -1);
  assert.is(literalAtEnd('OK }\r'), -1);
});

test('commands: csync and tagged IMAP lines', () => {
  const data = 'GET USER alice\r\nAUTHENTICATE PLAIN AHJlcGwAcmVwbHB3\r\nEXIT\r\n*\r\nAPPLY MAILBOX %(A 1)\r\n';
  const evs = parseCommands(data);
  assert.equal(
    evs.map((e) => (e.kind === 'command' ? [e.command.verb, e.command.args.length] : e.kind)),
    [['GET', 2], ['AUTHENTICATE', 2], ['EXIT', 0], ['*', 0], ['APPLY', 2]],
  );
  const tagged = parseCommands('S0 SYNCGET MAILBOXES (user.a)\r\n', { tagged: true });
  assert.ok(tagged[0]?.kind === 'command' && tagged[0].command.tag === 'S0' && tagged[0].command.verb === 'SYNCGET');
  // A bad line is a non-fatal error; the stream carries on.
  const p = new CommandParser();
  const out = p.feed(Buffer.from('APPLY MAILBOX %(A\r\nNOOP\r\n'));
  assert.ok(out[0]?.kind === 'error' && !out[0].fatal && out[0].error.code === 'SYNTAX');
  assert.ok(out[1]?.kind === 'command' && out[1].command.verb === 'NOOP');
});

test.run();
