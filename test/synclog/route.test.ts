import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { shardOf, shardOfLines } from '../../src/native/index.js';
import { ByteSink } from '../../src/synclog/byte-sink.js';
import {
  GLOBAL_KEY,
  LINE_TYPE_NAMES,
  LINE_TYPES,
  LineRouter,
  mailboxKey,
  parseLine,
  printLine,
  routeLine,
  shardOfKey,
  type Route,
  type RouteOptions,
  type SyncLogLine,
} from '../../src/synclog/index.js';

function routeOf(text: string, options: RouteOptions = {}): Route {
  const parsed = parseLine(Buffer.from(text, 'latin1'));
  if (!parsed.ok) throw new Error(`${text}: ${parsed.error.detail}`);
  return routeLine(parsed.line, options);
}
const single = (key: string): Route => ({ kind: 'single', key });

test('mailbox names: owner per mbname_from_intname', () => {
  const vectors: Array<[string, string]> = [
    ['user.tom', 'tom'],
    ['user.tom.Sent', 'tom'],
    ['example.com!user.tom.Sent', 'tom@example.com'],
    ['user.john^smith.Drafts', 'john.smith'],
    ['user.john^smith', 'john.smith'],
    ['DELETED.user.tom.X.5F3A0B1C', 'tom'],
    ['DELETED.user.tom.5F3A0B1C', 'tom'], // a deleted INBOX
    ['example.com!DELETED.user.tom.X.5F3A0B1C', 'tom@example.com'],
    ['user.tom.#sieve', 'tom'],
    ['user.tom.&AOk-t&AOk-', 'tom'],
    ['user.&AOk-l&AOg-ve.INBOX', '&AOk-l&AOg-ve'],
    ['internal!user.tom', 'tom'], // defaultdomain is dropped
    ['user..tom', 'tom'], // empty components are skipped (strtok)
    ['.user.tom.', 'tom'],
    ['user.caf\xe9.x', 'caf\xe9'],
    ['shared.folder', '@'],
    ['shared', '@'],
    ['user', '@'], // one component: not a user mailbox
    ['User.tom', '@'], // "user" is case-sensitive
    ['', '@'],
    ['DELETED.shared.5F3A0B1C', '@'],
    ['DELETED.user.5F3A0B1C', '@'],
    ['DELETED.user', '@'], // fewer than 3 components: not a deleted name
    ['example.com!shared.folder', '@example.com'],
    ['example.com!', '@example.com'],
    ['a!b!user.tom', '@a'], // the domain ends at the first '!'
  ];
  for (const [name, key] of vectors) {
    assert.is(mailboxKey(name), key, name);
    for (const type of ['APPEND', 'MAILBOX', 'UNMAILBOX', 'QUOTA'] as const) {
      assert.equal(routeLine({ type, args: [name] }), single(key), `${type} ${name}`);
    }
  }
});

test('routing options: deletedprefix and defaultdomain', () => {
  assert.is(mailboxKey('OLD.user.tom.X.5F3A', { deletedPrefix: 'OLD' }), 'tom');
  assert.is(mailboxKey('DELETED.user.tom.X.5F3A', { deletedPrefix: 'OLD' }), '@');
  assert.is(mailboxKey('DEL^ETED.user.tom.X.5F3A', { deletedPrefix: 'DEL.ETED' }), 'tom'); // ^ is a dot
  assert.is(mailboxKey('internal!user.tom', { defaultDomain: null }), 'tom@internal');
  assert.is(mailboxKey('corp.example!user.tom', { defaultDomain: 'corp.example' }), 'tom');
  assert.equal(routeOf('USER tom@internal\n', { defaultDomain: null }), single('tom@internal'));
  assert.equal(routeOf('USER tom@corp.example\n', { defaultDomain: 'corp.example' }), single('tom'));
});

test('userid lines belong to their userid', () => {
  const vectors: Array<[string, string]> = [
    ['USER john.smith', 'john.smith'],
    ['UNUSER tom@example.com', 'tom@example.com'],
    ['META tom', 'tom'],
    ['SIEVE tom', 'tom'],
    ['USER tom@internal', 'tom'],
    ['USER a@b@example.com', 'a@b@example.com'], // split at the last '@'
    ['SEEN bob 5p24xid7j7rye9n2j15ehrta', 'bob'],
    ['SEEN bob@example.com 5p24xid7j7rye9n2j15ehrta', 'bob@example.com'],
    ['SUB alice user.bob.Shared', 'alice'], // the subscriber, not the folder's owner
    ['UNSUB alice@example.com example.com!user.bob', 'alice@example.com'],
    ['SUB "" ""', ''],
  ];
  for (const [text, key] of vectors) assert.equal(routeOf(`${text}\n`), single(key), text);
});

test('QUOTA and ANNOTATION', () => {
  assert.equal(routeOf('QUOTA user.tom\n'), single('tom'));
  assert.equal(routeOf('QUOTA example.com!user.tom\n'), single('tom@example.com'));
  assert.equal(routeOf('QUOTA example.com!\n'), single('@example.com'));
  assert.equal(routeOf('ANNOTATION ""\n'), single(GLOBAL_KEY));
  assert.equal(routeOf('ANNOTATION user.tom\n'), single('tom'));
  assert.equal(routeOf('ANNOTATION shared.x\n'), single('@'));
});

test('two-mailbox lines: one key if one owner, else multi-user with the first owner first', () => {
  assert.equal(routeOf('RENAME user.alice.P DELETED.user.alice.P.6B0710F3\n'), single('alice'));
  assert.equal(routeOf('RENAME "user.a.My Box" "user.a.Other Box"\n'), single('a'));
  assert.equal(routeOf('RENAME user.a.x user.b.y\n'), { kind: 'multi', keys: ['a', 'b'] });
  assert.equal(routeOf('RENAME user.b.y user.a.x\n'), { kind: 'multi', keys: ['b', 'a'] });
  assert.equal(routeOf('DOUBLEMAILBOX user.a.x example.com!user.a.y\n'), { kind: 'multi', keys: ['a', 'a@example.com'] });
  assert.equal(routeOf('RENAME user.a.x shared.y\n'), { kind: 'multi', keys: ['a', '@'] });
  assert.equal(routeOf('RENAME "user.a\\"q.x" user.b\n'), { kind: 'multi', keys: ['a"q', 'b'] });
  assert.equal(routeOf('DOUBLEMAILBOX user.john^smith.a user.john^smith.b\n'), single('john.smith'));
});

test('USER john.smith and user.john^smith.* land on the same shard', () => {
  const a = routeOf('USER john.smith\n');
  const b = routeOf('MAILBOX user.john^smith.Drafts\n');
  assert.equal(a, b);
  for (const n of [2, 4, 8, 16]) assert.is(shardOfKey('john.smith', n), shardOf('john.smith', n));
});

test('shardOfKey hashes the raw key bytes, also for 8-bit keys', () => {
  const raw = Buffer.from([0x63, 0x61, 0x66, 0xe9, 0x0a]); // "caf\xe9\n"
  assert.is(shardOfKey('caf\xe9', 7), shardOfLines(raw, 7)[0]);
  assert.is(shardOfKey(GLOBAL_KEY, 8), shardOf('*', 8));
});

test('the hot-path router reports failures without writing keys', () => {
  const router = new LineRouter();
  const keys = new ByteSink(16);
  for (const text of ['', 'MAILBOX', 'FROB x', 'MAILBOX a b', 'MAILBOX "x', 'SEEN bob']) {
    const line = Buffer.from(text, 'latin1');
    assert.ok(router.route(line, 0, line.length, keys) < 0, text);
    assert.is(keys.length, 0, text);
  }
});

// Hot path (bytes in, key bytes out) and routeLine (parsed strings) must agree.
const nameChar = fc.constantFrom('user', '.', '^', '!', 'DELETED', 'tom', 'example.com', ' ', '"', '\\', '#', '\xe9', 'a', '5F3A');
const name = fc.array(nameChar, { maxLength: 12 }).map((parts) => parts.join(''));
const lineGen = fc.constantFrom(...LINE_TYPE_NAMES).chain((type) =>
  fc.array(name, { minLength: LINE_TYPES[type].length, maxLength: LINE_TYPES[type].length }).map((args): SyncLogLine => ({ type, args })),
);

test('property: hot-path router and routeLine agree', () => {
  const router = new LineRouter();
  const keys = new ByteSink(64);
  fc.assert(
    fc.property(lineGen, (line) => {
      const printed = printLine(line);
      keys.reset();
      const count = router.route(printed, 0, printed.length - 1, keys);
      const hot = keys.view().toString('latin1').split('\n').slice(0, -1);
      const route = routeLine(line);
      const expected = route.kind === 'single' ? [route.key] : [...route.keys];
      assert.is(count, expected.length);
      assert.equal(hot, expected);
      return true;
    }),
    { numRuns: 3000 },
  );
});

test.run();
