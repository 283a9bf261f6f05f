import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { crc32 } from 'node:zlib';
import { FLAG, IFLAG, type IndexRecord } from '../../src/cyrus/index-file.js';
import { mailboxMetaFile, type MailboxLocation } from '../../src/cyrus/paths.js';
import { takeMailboxSnapshot } from '../../src/cyrus/snapshot.js';
import { computeSyncCrcs, crcAnnot, crcBasic, crcVirtAnnot, CRC_INIT_ANNOT, isVirtualAnnotation, syncCrcsEqual } from '../../src/cyrus/synccrc.js';
import { skip } from '../support/skip.js';
import { cyrusUnavailable, CyrusEnv } from './support/cyrus-env.js';
import { createMailboxes } from './support/mailbox-fixture.js';

function rec(over: Partial<IndexRecord>): IndexRecord {
  return {
    recno: 1,
    uid: 5,
    internaldate: 50,
    sentdate: 0,
    size: 0,
    headerSize: 0,
    gmtime: 0,
    cacheOffset: 0,
    lastUpdated: 100,
    systemFlags: 0,
    internalFlags: 0,
    userFlags: [0, 0, 0, 0],
    savedate: 0,
    cacheVersion: 0,
    guid: 'ab'.repeat(20),
    modseq: 9n,
    cid: 0n,
    createdmodseq: 0n,
    cacheCrc: 0,
    ...over,
  };
}

test('crc_basic formats the record exactly', () => {
  assert.is(crc32('123456789'), 0xcbf43926);
  const plain = rec({});
  assert.is(crcBasic(plain, []), crc32(`5 9 100 (0) 50 ${'ab'.repeat(20)}`));
  const flagged = rec({ systemFlags: FLAG.SEEN | FLAG.DELETED, userFlags: [0b101, 0, 0, 1 << 31] });
  const names = ['Junk', 'unused-bit', '$Label1'];
  names[127] = 'LastSlot';
  const flagcrc = (crc32('\\deleted') ^ crc32('\\seen') ^ crc32('junk') ^ crc32('$label1') ^ crc32('lastslot')) >>> 0;
  assert.is(crcBasic(flagged, names), crc32(`5 9 100 (${flagcrc}) 50 ${'ab'.repeat(20)}`));
  // A set bit without a flag name does not count; slot 1 is named but its bit is clear.
  assert.is(crcBasic(rec({ userFlags: [0b1000, 0, 0, 0] }), names), crcBasic(plain, names));
  assert.is(crcBasic(rec({ internalFlags: IFLAG.EXPUNGED }), names), 0);
  assert.is(crcBasic(rec({ modseq: 2n ** 63n }), []), crc32(`5 9223372036854775808 100 (0) 50 ${'ab'.repeat(20)}`));
});

test('annotation CRCs: stored rows and virtual ones by version', () => {
  assert.is(crcAnnot(5, '/comment', '', Buffer.from('hi')), crc32('5 /comment  hi'));
  assert.is(crcAnnot(5, '/comment', 'bob', Buffer.from([0, 0xff])), crc32(Buffer.concat([Buffer.from('5 /comment bob '), Buffer.from([0, 0xff])])));
  assert.is(crcAnnot(5, '/comment', null, Buffer.from('x')), 0);
  const r = rec({ cid: 0xabcn, savedate: 77, createdmodseq: 3n });
  const v = (e: string, val: string): number => crc32(`5 /vendor/cmu/cyrus-imapd/${e}  ${val}`);
  assert.is(crcVirtAnnot(r, 17), (v('thrid', 'abc') ^ v('savedate', '77') ^ v('createdmodseq', '3')) >>> 0);
  assert.is(crcVirtAnnot(r, 15), (v('thrid', 'abc') ^ v('savedate', '77')) >>> 0);
  assert.is(crcVirtAnnot(r, 13), v('thrid', 'abc'));
  assert.is(crcVirtAnnot(r, 12), 0);
  assert.ok(isVirtualAnnotation('/vendor/cmu/cyrus-imapd/thrid', 13));
  assert.not.ok(isVirtualAnnotation('/vendor/cmu/cyrus-imapd/savedate', 14));
  // Stored rows named like virtual ones are ignored, expunged records contribute nothing.
  const crcs = computeSyncCrcs([r, rec({ uid: 6, internalFlags: IFLAG.EXPUNGED })], [], 17, (uid) =>
    uid === 5 ? [{ entry: '/vendor/cmu/cyrus-imapd/thrid', userid: '', value: Buffer.from('zzz') }] : [{ entry: '/comment', userid: '', value: Buffer.from('x') }],
  );
  assert.equal(crcs, { basic: crcBasic(r, []), annot: (CRC_INIT_ANNOT ^ crcVirtAnnot(r, 17)) >>> 0 });
  assert.equal(computeSyncCrcs([], [], 17), { basic: 0, annot: CRC_INIT_ANNOT });
});

test('mailbox_crceq: zero means "do not compare"', () => {
  assert.ok(syncCrcsEqual({ basic: 1, annot: 2 }, { basic: 1, annot: 2 }));
  assert.ok(syncCrcsEqual({ basic: 0, annot: 2 }, { basic: 7, annot: 2 }));
  assert.ok(syncCrcsEqual({ basic: 1, annot: 0 }, { basic: 1, annot: 9 }));
  assert.not.ok(syncCrcsEqual({ basic: 1, annot: 2 }, { basic: 3, annot: 2 }));
  assert.not.ok(syncCrcsEqual({ basic: 1, annot: 2 }, { basic: 1, annot: 3 }));
});

/** cyrus.annotations value as annotate.c make_entry writes it on 64-bit Linux. */
function annotValue(v: Buffer | string, flags = 0): Buffer {
  const len = Buffer.alloc(8);
  const body = Buffer.from(v);
  len.writeUInt32BE(body.length, 0);
  const modseq = Buffer.alloc(8);
  modseq.writeBigUInt64BE(5n);
  return Buffer.concat([len, body, Buffer.from('\0text/plain\0'), Buffer.alloc(8), modseq, Buffer.from([flags])]);
}

test('recomputed CRCs equal what Cyrus stores (reconstruct, expunge, annotations)', async () => {
  const why = cyrusUnavailable();
  if (why) return skip('recomputed CRCs equal what Cyrus stores', why);
  const env = CyrusEnv.create();
  try {
    const { cfg, locations } = createMailboxes(env, [
      { name: 'user.tom', uniqueid: '3f2a9c1e-1111-2222-3333-444455556666', count: 5 },
      { name: 'shared.box', uniqueid: '4f2a9c1e-1111-2222-3333-444455556666', count: 2, acl: { anyone: 'lrs' } },
    ]);
    const check = async (name: string, label: string): Promise<void> => {
      const { snapshot: s, release } = await takeMailboxSnapshot(cfg, name, { keepNamelock: false });
      release();
      const mine = computeSyncCrcs(s.records, s.userFlags, s.index.minorVersion, (uid) => s.messageAnnotations.get(uid) ?? []);
      assert.equal(mine, { basic: s.index.syncCrcBasic, annot: s.index.syncCrcAnnot }, `${name}: ${label}`);
    };
    // Lock files appear when Cyrus first opens the mailbox, which reconstruct did.
    await check('user.tom', 'fresh');
    env.must('ipurge', ['-f', '-b', '150', 'user.tom']);
    await check('user.tom', 'after expunge');

    const loc = locations.get('user.tom');
    const shared = locations.get('shared.box');
    if (!loc || !shared) throw new Error('no fixture');
    const annotFile = (l: MailboxLocation): string => mailboxMetaFile(cfg, l, 'annotations');
    env.dbtool(annotFile(loc), 'twoskip', [
      ['SET', '1\0/comment\0\0', annotValue('hello')],
      ['SET', '1\0/comment\0[.OwNeR.]\0', annotValue('mine')],
      ['SET', '2\0/vendor/x\0bob\0', annotValue(Buffer.from([0, 0xff, 0x41]))],
      ['SET', '2\0/comment\0\0', annotValue('gone', 1)],
    ]);
    env.dbtool(annotFile(shared), 'twoskip', [['SET', '1\0/comment\0[.OwNeR.]\0', annotValue('owner of a shared box')]]);
    // reconstruct recomputes and stores both CRCs.
    env.must('reconstruct', ['user.tom']);
    env.must('reconstruct', ['shared.box']);
    await check('user.tom', 'with annotations');
    await check('shared.box', 'owner row of a shared mailbox');
    const { snapshot: s, release } = await takeMailboxSnapshot(cfg, 'user.tom');
    release();
    assert.equal(
      (s.messageAnnotations.get(1) ?? []).map((a) => [a.entry, a.userid, a.value.toString()]),
      [
        ['/comment', '', 'hello'],
        ['/comment', 'tom', 'mine'],
      ],
    );
    assert.is(s.messageAnnotations.get(2)?.length, 1, 'tombstone skipped');
    assert.is.not(s.index.syncCrcAnnot, computeSyncCrcs(s.records, s.userFlags, s.index.minorVersion).annot, 'annotations count');
    const { snapshot: sh, release: r2 } = await takeMailboxSnapshot(cfg, 'shared.box');
    r2();
    assert.is(sh.messageAnnotations.get(1)?.[0]?.userid, null);
  } finally {
    env.cleanup();
  }
});

test.run();
