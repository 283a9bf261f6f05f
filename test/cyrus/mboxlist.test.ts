import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { loadConfig } from '../../src/cyrus/config.js';
import { MemoryDb } from '../../src/cyrus/cyrusdb/memory-db.js';
import { DbMemos } from '../../src/cyrus/cyrusdb/read-memo.js';
import { decodeIdEntry, decodeMbEntry, entryState, Mboxlist, MboxlistError, parseAclString, type MbEntry } from '../../src/cyrus/mboxlist.js';
import { formatMbType, MbTypeError, parseMbType, syncMbType } from '../../src/cyrus/mbtype.js';
import { skip } from '../support/skip.js';
import { CyrusEnv, cyrusUnavailable } from './support/cyrus-env.js';

const ctx = { deletedPrefix: 'DELETED', defaultDomain: null };

test('mbtype letters round-trip and the sync form drops l', () => {
  for (const s of ['e', 'el', 'ed', 'edl', 'ei', 'ez', 'em', 'er', 'f', 'fl', 'c', 'a', 'b', 's', 'p', 'n', 'j', 'jl', 'jd', 'edmrzil']) {
    assert.is(formatMbType(parseMbType(s)), s, s);
  }
  assert.is(parseMbType('el').legacyDirs, true);
  assert.is(parseMbType('ed').deleted, true);
  assert.is(parseMbType('f').kind, 'sieve');
  // 3.8+: JMAP notification mailboxes (type 0x4).
  assert.is(parseMbType('jl').kind, 'jmapnotify');
  assert.is(parseMbType('j').bits, 0x4);
  assert.is(syncMbType(parseMbType('jl')), 'j');
  assert.is(parseMbType('').bits, 0);
  // A string without a leading type is all flags (legacy entries without `e`).
  assert.is(parseMbType('d').kind, 'email');
  assert.is(parseMbType('d').deleted, true);
  assert.is(syncMbType(parseMbType('el')), null);
  assert.is(syncMbType(parseMbType('eil')), 'ei');
  assert.is(syncMbType(parseMbType('fl')), 'f');
  assert.throws(() => parseMbType('eq'), (e: unknown) => e instanceof MbTypeError);
});

test('N and I values decode (dlist and pre-3.6 text forms)', () => {
  const n = decodeMbEntry(
    'user\x1ftom\x1fSent',
    Buffer.from('%(T el I 3f2a P default V 1700000000 C 12 F 18446744073709551615 M 1700000123 A %(tom lrswipkxtecdan anyone p))'),
    ctx,
  );
  assert.is(n.name, 'user.tom.Sent');
  assert.is(n.uniqueid, '3f2a');
  assert.is(n.partition, 'default');
  assert.is(n.uidvalidity, 1700000000);
  assert.is(n.createdmodseq, 12n);
  assert.is(n.foldermodseq, 18446744073709551615n);
  assert.is(n.mtime, 1700000123);
  assert.is(n.acl, 'tom\tlrswipkxtecdan\tanyone\tp\t');
  assert.equal(parseAclString(n.acl), n.aclEntries);
  assert.is(entryState(n), 'live');

  const tomb = decodeMbEntry('user\x1ftom\x1fOld', Buffer.from('%(T ed I bf01 V 5 C 3 F 7 M 9)'), ctx);
  assert.is(entryState(tomb), 'tombstone');
  assert.is(tomb.partition, null);
  assert.is(tomb.acl, '');

  const legacy = decodeMbEntry('user\x1ftom', Buffer.from('(uniqueid 0123abcd specialuse \\Sent) 0 srv!default tom\tlrs\t'), ctx);
  assert.equal([legacy.uniqueid, legacy.legacySpecialuse, legacy.server, legacy.partition, legacy.acl], ['0123abcd', '\\Sent', 'srv', 'default', 'tom\tlrs\t']);
  const older = decodeMbEntry('user\x1ftom', Buffer.from('0 default tom\tlrs\t'), ctx);
  assert.equal([older.uniqueid, older.partition, older.acl, older.mbtype.bits], [null, 'default', 'tom\tlrs\t', 0]);

  const id = decodeIdEntry(
    '3f2a',
    Buffer.from('%(T e N user\x1ftom\x1fNew P default V 1 C 2 F 3 M 4 A %(tom lrs) H (%(N user\x1ftom\x1fOld M 10 V 1 C 2 F 3 T e P default)))'),
    ctx,
  );
  assert.is(id.name, 'user.tom.New');
  assert.equal(id.history.map((h) => [h.name, h.mtime, h.partition, h.mbtype.bits]), [['user.tom.Old', 10, 'default', 0]]);
});

test('tree walks by key prefix', () => {
  const rows: Array<[string, string]> = [
    ['Nuser\x1ftom', '%(T e I 1 P default)'],
    ['Nuser\x1ftom\x1fA', '%(T e I 2 P default)'],
    ['Nuser\x1ftom\x1fA\x1fB', '%(T ei I 3)'],
    ['Nuser\x1ftom\x1fGone', '%(T ed I 4)'],
    ['Nuser\x1ftommy', '%(T e I 5 P default)'],
    ['NDELETED\x1fuser\x1ftom\x1fX\x1f6512A3F0', '%(T e I 6 P default)'],
    ['Nexample.com\x1duser\x1ftom', '%(T e I 7 P default)'],
    ['Nexample.com\x1dDELETED\x1fuser\x1ftom\x1f6512A3F1', '%(T e I 8 P default)'],
    ['I1', '%(T e N user\x1ftom P default H ())'],
    ['AS\x1e', ''],
    // Keys other versions add: reverse-ACL markers, 3.12's user groups (UG<user>^^<group> both ways,
    // empty values), 3.13's J<jmapid>; and an N value with a field this reader does not know.
    ['$RACL', '1'],
    ['UGtom\x1egroup:staff', ''],
    ['UGgroup:staff\x1etom', ''],
    ['Jabc123', '%(I 2)'],
    ['Nuser\x1ftom\x1fNotify', '%(T j I 9 P default J Jabc123 X %(any thing))'],
  ];
  const db = new MemoryDb('twoskip', '', rows.map(([k, v]) => ({ key: Buffer.from(k, 'latin1'), value: Buffer.from(v, 'latin1') })).sort((a, b) => Buffer.compare(a.key, b.key)));
  const ml = new Mboxlist(db, ctx);
  const names = (it: Iterable<MbEntry>): string[] => [...it].map((e) => e.name);
  assert.equal(names(ml.userTree('tom', {})), ['user.tom', 'user.tom.A', 'user.tom.Notify']);
  assert.equal(names(ml.userTree('tom', { tombstones: true, intermediates: true, deleted: true })), [
    'user.tom',
    'user.tom.A',
    'user.tom.A.B',
    'user.tom.Gone',
    'user.tom.Notify',
    'DELETED.user.tom.X.6512A3F0',
  ]);
  assert.is(ml.lookup('user.tom.Notify')?.mbtype.kind, 'jmapnotify');
  assert.equal(names(ml.userTree('tom@example.com')), ['example.com!user.tom', 'example.com!DELETED.user.tom.6512A3F1']);
  assert.equal(names(ml.entries()).length, 9);
  assert.equal([...ml.idEntries()].map((e) => e.uniqueid), ['1']);
  assert.is(ml.lookup('user.tom.Gone')?.mbtype.deleted, true);
  assert.is(ml.find('user.tom.Gone'), undefined);
  assert.is(ml.find('user.tom.A.B'), undefined);
  assert.is(ml.byUniqueId('1')?.name, 'user.tom');
  assert.is(ml.inbox('tommy')?.uniqueid, '5');
});

test('mailboxes.db made by ctl_mboxlist -u matches ctl_mboxlist -d', async () => {
  const why = cyrusUnavailable();
  if (why) return skip('mailboxes.db made by ctl_mboxlist -u', why);
  const env = CyrusEnv.create({ virtdomains: 'userid' });
  try {
    const common = { partition: 'default', uidvalidity: '1700000000', createdmodseq: '3', foldermodseq: '9' };
    env.undump({
      'user.tom': { ...common, uniqueid: '3f2a9c1e-1111-2222-3333-444455556666', mbtype: 'e', acl: { tom: 'lrswipkxtecdan', anyone: 'p' } },
      'user.tom.Sent': {
        ...common,
        uniqueid: 'af01aaaa-1111-2222-3333-444455556666',
        mbtype: 'e',
        acl: { tom: 'lrswipkxtecdan' },
        name_history: [{ name: 'user.tom.Outbox', mtime: '1600000000', uidvalidity: '5', createdmodseq: '1', foldermodseq: '2', mbtype: 'e', partition: 'default' }],
      },
      'user.tom.Old': { ...common, uniqueid: 'bf01aaaa-1111-2222-3333-444455556666', mbtype: 'ed' },
      'user.tom.Old2': { ...common, uniqueid: 'bf02aaaa-1111-2222-3333-444455556666', mbtype: 'eld' },
      'user.tom.Mid': { ...common, uniqueid: 'cf01aaaa-1111-2222-3333-444455556666', mbtype: 'ei' },
      'user.tom.Mid.Leaf': { ...common, uniqueid: 'df01aaaa-1111-2222-3333-444455556666', mbtype: 'el', acl: { tom: 'lrs' } },
      'user.tom.#sieve': { ...common, uniqueid: 'ef01aaaa-1111-2222-3333-444455556666', mbtype: 'f', acl: { tom: 'lrs' } },
      'user.jo^e': { ...common, uniqueid: '0f01aaaa-1111-2222-3333-444455556666', mbtype: 'e', acl: { 'jo.e': 'lrs' } },
      'DELETED.user.tom.Gone.6512A3F0': { ...common, uniqueid: '1f01aaaa-1111-2222-3333-444455556666', mbtype: 'e', acl: { tom: 'lrs' } },
      'example.com!user.tom': { ...common, uniqueid: '2f01aaaa-1111-2222-3333-444455556666', mbtype: 'e', acl: { 'tom@example.com': 'lrs' } },
      'shared.folder': { ...common, uniqueid: '4f01aaaa-1111-2222-3333-444455556666', mbtype: 'e', acl: { anyone: 'lrs' } },
    });
    const dump = JSON.parse(env.must('ctl_mboxlist', ['-d', '-y']).toString()) as Record<string, Record<string, unknown>>;
    const cfg = loadConfig(env.conf);
    const ml = await Mboxlist.open(cfg);
    const mine = [...ml.entries()];
    assert.equal(mine.map((e) => e.name).sort(), Object.keys(dump).sort());
    for (const e of mine) {
      const d = dump[e.name] ?? {};
      assert.is(formatMbType(e.mbtype), d.mbtype, e.name);
      assert.is(e.uniqueid, d.uniqueid, e.name);
      assert.is(e.partition, d.partition ?? null, e.name);
      assert.is(String(e.uidvalidity), d.uidvalidity, e.name);
      assert.is(String(e.createdmodseq), d.createdmodseq, e.name);
      assert.is(String(e.foldermodseq), d.foldermodseq, e.name);
      assert.is(String(e.mtime), d.mtime, e.name);
      assert.equal(Object.fromEntries(e.aclEntries.map((a) => [a.id, a.rights])), d.acl ?? {}, e.name);
    }
    // -d prints the history of the N record (always empty); the I record holds what -u was given.
    const history = ml.byUniqueId('af01aaaa-1111-2222-3333-444455556666')?.history ?? [];
    assert.equal(
      history.map((h) => ({ name: h.name, mtime: String(h.mtime), uidvalidity: String(h.uidvalidity), createdmodseq: String(h.createdmodseq), foldermodseq: String(h.foldermodseq), mbtype: formatMbType(h.mbtype), partition: h.partition })),
      [{ name: 'user.tom.Outbox', mtime: '1600000000', uidvalidity: '5', createdmodseq: '1', foldermodseq: '2', mbtype: 'e', partition: 'default' }],
    );
    // Cyrus writes flag letters in its fixed order: `eld` comes back as `edl`.
    assert.is(dump['user.tom.Old2']?.mbtype, 'edl');
    const tree = [...ml.userTree('tom', { deleted: true, intermediates: true, tombstones: true })].map((e) => e.name);
    assert.equal(tree, ['user.tom', 'user.tom.#sieve', 'user.tom.Mid', 'user.tom.Mid.Leaf', 'user.tom.Old', 'user.tom.Old2', 'user.tom.Sent', 'DELETED.user.tom.Gone.6512A3F0']);
    assert.equal(
      [...ml.userTree('tom')].map((e) => e.name),
      ['user.tom', 'user.tom.#sieve', 'user.tom.Mid.Leaf', 'user.tom.Sent', 'DELETED.user.tom.Gone.6512A3F0'],
    );
    // The same answers through positioned reads under one lock.
    assert.equal(await Mboxlist.query(cfg, (l) => [...l.userTree('tom', { deleted: true, intermediates: true, tombstones: true })].map((e) => e.name)), tree);
    assert.equal(await Mboxlist.query(cfg, (l) => l.lookup('user.tom.Sent')), ml.lookup('user.tom.Sent'));
    assert.is(await Mboxlist.query(cfg, (l) => l.lookup('user.nobody')), undefined);
    assert.equal(await Mboxlist.query(cfg, (l) => l.byUniqueId('af01aaaa-1111-2222-3333-444455556666')), ml.byUniqueId('af01aaaa-1111-2222-3333-444455556666'));
    // query() is for callers that act on the answer: an absent file is an error, not "no mailboxes".
    assert.equal(await Mboxlist.query(cfg, (l) => l.lookup('user.tom.Sent')), ml.lookup('user.tom.Sent'));
    assert.is(await Mboxlist.query(cfg, (l) => l.lookup('user.nobody')), undefined);
    // Through a memo: the second answer comes without a read, and equals the first.
    const memos = new DbMemos();
    const viaMemo = async () => Mboxlist.query(cfg, (l) => [l.lookup('user.tom.Sent'), l.lookup('user.nobody'), [...l.userTree('tom')].map((e) => e.name)], { memos });
    const first = await viaMemo();
    assert.equal(first, [ml.lookup('user.tom.Sent'), undefined, [...ml.userTree('tom')].map((e) => e.name)]);
    assert.equal(await viaMemo(), first);
    const missing = { ...cfg, db: { ...cfg.db, mboxlist: { ...cfg.db.mboxlist, path: `${env.dir}/no-such-mailboxes.db` } } };
    const err = await Mboxlist.query(missing, () => 'ran').then(() => null, (e: unknown) => e);
    assert.ok(err instanceof MboxlistError && /no-such-mailboxes\.db: no such file/.test(err.message), String(err));
    assert.is(ml.inbox('jo.e')?.uniqueid, '0f01aaaa-1111-2222-3333-444455556666');
    assert.is(ml.inbox('tom@example.com')?.name, 'example.com!user.tom');
    assert.is(ml.byUniqueId('af01aaaa-1111-2222-3333-444455556666')?.name, 'user.tom.Sent');
  } finally {
    env.cleanup();
  }
});

test('entriesReporting: a damaged record is reported and the walk goes on', () => {
  const kv = (k: string, v: string) => ({ key: Buffer.from(k), value: Buffer.from(v) });
  const db = new MemoryDb('twoskip', '/conf/mailboxes.db', [
    kv('Nuser\x1falice', '%(T e I a1 P default)'),
    kv('Nuser\x1fbob', '%(T q I b1 P default)'),
    kv('Nuser\x1fcarol', '%(T e I c1 P default'),
    kv('Nuser\x1fdave', '%(T e I d1 P default)'),
  ]);
  const ml = new Mboxlist(db, { deletedPrefix: 'DELETED', defaultDomain: null });
  const errors: MboxlistError[] = [];
  const names = [...ml.entriesReporting((e) => errors.push(e))].map((e) => e.name);
  assert.equal(names, ['user.alice', 'user.dave']);
  assert.is(errors.length, 2);
  assert.match(errors[0]!.message, /bob.*unknown mbtype letter/);
  assert.match(errors[1]!.message, /carol.*dlist/);
  assert.throws(() => [...ml.entries()], (e: unknown) => e instanceof MboxlistError);
});

test.run();
