import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { decodeAnnotationKey, decodeAnnotationValue, mailboxAnnotations, messageAnnotations, OWNER_TOKEN, serverAnnotations } from '../../src/cyrus/annotations.js';
import { buildConfig, loadConfig, RawConfig } from '../../src/cyrus/config.js';
import { MemoryDb } from '../../src/cyrus/cyrusdb/memory-db.js';
import { tryOpenDbAsync } from '../../src/cyrus/cyrusdb/open.js';
import { Mboxlist } from '../../src/cyrus/mboxlist.js';
import { decodeQuotaFile, decodeQuotaValue, QuotaFormatError } from '../../src/cyrus/quota.js';
import { decodeSeenValue, readUserSeen, seenPath, SeenFormatError } from '../../src/cyrus/seen.js';
import { listSieveDir, sieveMailboxName } from '../../src/cyrus/sieve.js';
import { decodeSubscriptions, readUserSubscriptions, subsPath, SubsFormatError } from '../../src/cyrus/subs.js';
import { skip } from '../support/skip.js';
import { cyrusUnavailable, CyrusEnv } from './support/cyrus-env.js';

const ctx = { deletedPrefix: 'DELETED', defaultDomain: null };
const db = (rows: Array<[string | Buffer, string | Buffer]>, backend: 'twoskip' | 'flat' = 'twoskip'): MemoryDb =>
  new MemoryDb(backend, '', rows.map(([k, v]) => ({ key: Buffer.from(k), value: Buffer.from(v) })).sort((a, b) => (backend === 'twoskip' ? Buffer.compare(a.key, b.key) : 0)));

function annotValue(v: string | Buffer, opts: { modseq?: bigint; flags?: number; longSize?: 4 | 8; truncate?: number } = {}): Buffer {
  const long = opts.longSize ?? 8;
  const len = Buffer.alloc(long);
  const body = Buffer.from(v);
  len.writeUInt32BE(body.length, 0);
  const modseq = Buffer.alloc(8);
  modseq.writeBigUInt64BE(opts.modseq ?? 5n);
  const full = Buffer.concat([len, body, Buffer.from('\0text/plain\0'), Buffer.alloc(long), modseq, Buffer.from([opts.flags ?? 0])]);
  return opts.truncate === undefined ? full : full.subarray(0, opts.truncate);
}

test('seen values', () => {
  assert.equal(decodeSeenValue('u1', Buffer.from('1 1700000000 42 1700000001 1:5,7,10:12')), {
    uniqueid: 'u1',
    lastread: 1700000000,
    lastuid: 42,
    lastchange: 1700000001,
    seenuids: '1:5,7,10:12',
  });
  assert.is(decodeSeenValue('u2', Buffer.from('1 5 0 6 ')).seenuids, '');
  assert.throws(() => decodeSeenValue('u3', Buffer.from('2 1 2 3 1')), (e: unknown) => e instanceof SeenFormatError);
});

test('subscriptions: v2 INBOX substitution (byte-prefix quirk) and the pre-3.6 form', () => {
  const v2 = db(
    [
      ['\x1fVER\x1f', '2'],
      ['NINBOX', ''],
      ['NINBOX\x1fSent', ''],
      ['NINBOXmy', ''],
      ['Nuser\x1fbob\x1fShared', ''],
      ['Nshared\x1ffolder', ''],
    ],
    'flat',
  );
  assert.equal(decodeSubscriptions(v2, 'tom', ctx), ['user.tom', 'user.tom.Sent', 'user.tommy', 'user.bob.Shared', 'shared.folder']);
  assert.equal(decodeSubscriptions(v2, 'tom@example.com', ctx).slice(0, 2), ['example.com!user.tom', 'example.com!user.tom.Sent']);
  const old = db([['user.tom', ''], ['user.tom.Sent', '']], 'flat');
  assert.equal(decodeSubscriptions(old, 'tom', ctx), ['user.tom', 'user.tom.Sent']);
});

test('subscriptions: version 3 (Cyrus 3.12) substitutes only a whole INBOX dbname', () => {
  // As 3.12's mboxlist_dbname_to_key writes them for tom: his own tree as INBOX…, tommy's
  // mailbox and a shared mailbox that happens to start with "INBOX" under their own names.
  const v3 = db(
    [
      ['\x1fVER\x1f', '3'],
      ['NINBOX', ''],
      ['NINBOX\x1fSent', ''],
      ['Nuser\x1ftommy', ''],
      ['NINBOXes\x1fshared', ''],
      ['Nshared\x1ffolder', ''],
    ],
    'flat',
  );
  assert.equal(decodeSubscriptions(v3, 'tom', ctx), ['user.tom', 'user.tom.Sent', 'user.tommy', 'INBOXes.shared', 'shared.folder']);
  assert.equal(decodeSubscriptions(v3, 'tom@example.com', ctx).slice(0, 3), ['example.com!user.tom', 'example.com!user.tom.Sent', 'user.tommy']);
  // The same keys read as version 2 show why 3.12 changed it.
  const asV2 = db([['\x1fVER\x1f', '2'], ['NINBOXes\x1fshared', '']], 'flat');
  assert.equal(decodeSubscriptions(asV2, 'tom', ctx), ['user.tomes.shared']);
  for (const bad of ['4', '1', 'x', '']) {
    const f = db([['\x1fVER\x1f', bad], ['NINBOX', '']], 'flat');
    assert.throws(() => decodeSubscriptions(f, 'tom', ctx), (e: unknown) => e instanceof SubsFormatError, bad);
  }
});

test('quota values: dlist and historical text', () => {
  const q = decodeQuotaValue('user.tom', '%(S (1024 2048) M (3) AS (0 10) NF (4 100) SCAN %(MBOX user.tom S 5) MODSEQ 77)');
  assert.equal(q.used, { STORAGE: 1024n, MESSAGE: 3n, 'X-ANNOTATION-STORAGE': 0n, 'X-NUM-FOLDERS': 4n });
  assert.equal(q.limits, { STORAGE: 2048n, MESSAGE: null, 'X-ANNOTATION-STORAGE': 10n, 'X-NUM-FOLDERS': 100n });
  assert.is(q.modseq, 77n);
  const old = decodeQuotaFile('user.tom', Buffer.from('1024 2048\n'));
  assert.equal([old.used.STORAGE, old.limits.STORAGE, old.limits.MESSAGE, old.modseq], [1024n, 2048n, null, 0n]);
  const multi = decodeQuotaValue('user.tom', '10 -1 99 MESSAGE 2 100 x-num-folders 1 5');
  assert.equal(multi.limits, { STORAGE: null, MESSAGE: 100n, 'X-ANNOTATION-STORAGE': null, 'X-NUM-FOLDERS': 5n });
  // quota_parseval itself matches the DB keys (S, M, AS, NF); full and RFC 9208 names are accepted too.
  const dbKeys = decodeQuotaValue('user.tom', '10 -1 M 2 100 as 3 30 NF 1 5');
  assert.equal(dbKeys.limits, { STORAGE: null, MESSAGE: 100n, 'X-ANNOTATION-STORAGE': 30n, 'X-NUM-FOLDERS': 5n });
  const rfc9208 = decodeQuotaValue('user.tom', '10 -1 annotation-storage 3 30 MAILBOX 1 5');
  assert.equal(rfc9208.limits, { STORAGE: null, MESSAGE: null, 'X-ANNOTATION-STORAGE': 30n, 'X-NUM-FOLDERS': 5n });
  const twoLine = decodeQuotaFile('user.tom', Buffer.from('10 20\nMESSAGE 1 2\n'));
  assert.is(twoLine.limits.MESSAGE, 2n);
  for (const bad of ['', '10', '10 x', '10 20 BOGUS 1 2']) assert.throws(() => decodeQuotaValue('r', bad), (e: unknown) => e instanceof QuotaFormatError, bad);
  assert.throws(() => decodeQuotaFile('r', Buffer.from('10 20')), /newline/);
});

test('annotation keys and values', () => {
  assert.equal(decodeAnnotationKey(Buffer.from('uid-1\0/comment\0bob\0'), false), { mailbox: 'uid-1', uid: 0, entry: '/comment', userid: 'bob' });
  assert.equal(decodeAnnotationKey(Buffer.from('42\0/comment\0\0'), true), { mailbox: null, uid: 42, entry: '/comment', userid: '' });
  assert.is(decodeAnnotationKey(Buffer.from('uid-1\0/comment'), false), null);
  const v = decodeAnnotationValue(annotValue(Buffer.from([0, 1, 0xff]), { modseq: 2n ** 40n, flags: 0 }));
  assert.equal([...v.value], [0, 1, 0xff]);
  assert.is(v.modseq, 2n ** 40n);
  assert.equal(decodeAnnotationValue(annotValue('x', { longSize: 4 }), 4).value.toString(), 'x');
  // Rows written before modseq/flags existed end after the legacy fields.
  const old = decodeAnnotationValue(annotValue('old', { truncate: 8 + 3 + 12 + 8 }));
  assert.equal([old.value.toString(), old.modseq, old.flags], ['old', 0n, 0]);
  assert.is(decodeAnnotationValue(annotValue('gone', { flags: 1 })).value.length, 0);
});

test('annotation scopes, owner token and tombstones', () => {
  const rows = db([
    ['\0/motd\0\0', annotValue('hello all')],
    ['u1\0/comment\0\0', annotValue('shared')],
    [`u1\0/comment\0${OWNER_TOKEN}\0`, annotValue('owner')],
    ['u1\0/comment\0bob\0', annotValue('bob', { flags: 1 })],
    ['u1\0/vendor/x\0bob\0', annotValue('')],
    ['u10\0/comment\0\0', annotValue('other mailbox')],
  ]);
  assert.equal(serverAnnotations(rows).map((a) => [a.entry, a.value.toString()]), [['/motd', 'hello all']]);
  assert.equal(mailboxAnnotations(rows, 'u1', { owner: 'tom' }).map((a) => [a.entry, a.userid, a.value.toString()]), [
    ['/comment', '', 'shared'],
    ['/comment', 'tom', 'owner'],
  ]);
  assert.equal(mailboxAnnotations(rows, 'u1').map((a) => a.userid), ['', OWNER_TOKEN]);
  assert.equal(mailboxAnnotations(rows, 'u1', { owner: null })[1]?.userid, null);
  assert.equal(mailboxAnnotations(rows, 'u1', { tombstones: true }).map((a) => [a.userid, a.tombstone]), [
    ['', false],
    [OWNER_TOKEN, false],
    ['bob', true],
    ['bob', true],
  ]);
  const perMailbox = db([
    ['1\0/comment\0\0', annotValue('a')],
    ['12\0/comment\0\0', annotValue('b')],
    ['2\0/comment\0\0', annotValue('c')],
  ]);
  assert.equal([...messageAnnotations(perMailbox).entries()].map(([uid, l]) => [uid, l.map((a) => a.value.toString())]), [
    [1, ['a']],
    [12, ['b']],
    [2, ['c']],
  ]);
});

test('sieve mailbox name and un-migrated sieve dirs', () => {
  const cfg = buildConfig(new RawConfig([['configdirectory', '/c']]), '/x', { hostname: 'h' });
  assert.is(sieveMailboxName(cfg, 'tom'), 'user.tom.#sieve');
  assert.is(sieveMailboxName(cfg, 'jo.e@example.com'), 'example.com!user.jo^e.#sieve');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'syncmux-sieve-'));
  try {
    fs.writeFileSync(path.join(dir, 'main.script'), 'keep;');
    fs.writeFileSync(path.join(dir, 'vacation.script'), 'vacation "away";');
    fs.writeFileSync(path.join(dir, 'main.bc'), 'bytecode');
    fs.symlinkSync('main.bc', path.join(dir, 'defaultbc'));
    const l = listSieveDir(dir);
    assert.equal(l?.scripts.map((s) => [s.name, s.size]), [
      ['main', 5],
      ['vacation', 16],
    ]);
    assert.is(l?.active, 'main');
    assert.is(listSieveDir(path.join(dir, 'missing')), null);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('seen and subscription files at the paths Cyrus uses', async () => {
  const why = cyrusUnavailable();
  if (why) return skip('seen and subscription files at the paths Cyrus uses', why);
  const env = CyrusEnv.create();
  try {
    const common = { partition: 'default', uidvalidity: '1', createdmodseq: '1', foldermodseq: '1', acl: { tom: 'lrs' } };
    env.undump({
      'user.tom': { ...common, uniqueid: '3f2a9c1e-1111-2222-3333-444455556666', mbtype: 'e' },
      'user.old': { ...common, uniqueid: '4f2a9c1e-1111-2222-3333-444455556666', mbtype: 'el' },
    });
    const cfg = loadConfig(env.conf);
    const ml = await Mboxlist.open(cfg);
    const oracle = (user: string): Record<string, string> => (JSON.parse(env.must('mbpath', ['-j', `user.${user}`]).toString()) as { user: Record<string, string> }).user;
    for (const user of ['tom', 'old']) {
      const seen = seenPath(cfg, ml, user);
      const subs = subsPath(cfg, ml, user);
      assert.is(seen, oracle(user).seen, user);
      assert.is(subs, oracle(user).sub, user);
      assert.equal(await readUserSeen(cfg, ml, user), [], 'missing seen file = none');
      fs.mkdirSync(path.dirname(seen), { recursive: true });
      env.chown();
      env.dbtool(seen, 'twoskip', [
        ['SET', 'af01aaaa-1111', '1 1700000000 42 1700000001 1:5,7'],
        ['SET', 'bf01aaaa-1111', '1 1700000002 3 1700000003 '],
      ]);
      env.dbtool(subs, 'flat', [
        ['SET', '\x1fVER\x1f', '2'],
        ['SET', 'NINBOX', ''],
        ['SET', 'NINBOX\x1fSent', ''],
        ['SET', 'Nshared\x1ffolder', ''],
      ]);
      assert.equal(
        (await readUserSeen(cfg, ml, user)).map((s) => [s.uniqueid, s.lastuid, s.seenuids]),
        [
          ['af01aaaa-1111', 42, '1:5,7'],
          ['bf01aaaa-1111', 3, ''],
        ],
      );
      assert.equal(await readUserSubscriptions(cfg, ml, user), [`user.${user}`, `user.${user}.Sent`, 'shared.folder']);
      assert.is((await tryOpenDbAsync(subs))?.backend, 'flat');
    }
  } finally {
    env.cleanup();
  }
});

test.run();
