import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import { crc32 } from 'node:zlib';
import { decodeIndex, decodeIndexHeader, FLAG, hasUserFlag, IFLAG, IndexChecksumError, IndexFormatError, IndexImage, isExpunged, isUnlinked, OPT, SUPPORTED_MINOR_VERSIONS } from '../../src/cyrus/index-file.js';
import { skip } from '../support/skip.js';
import { cyrusUnavailable, CyrusEnv } from './support/cyrus-env.js';
import { encodeHeader, encodeIndex, encodeRecord, type RecordFields } from './support/index-writer.js';
import { createMailboxes, metaOf } from './support/mailbox-fixture.js';

const GUID = 'aa'.repeat(10) + '0123456789abcdef0123';
const FULL: RecordFields = {
  uid: 7,
  internaldate: 1700000001,
  sentdate: 1699990000,
  size: 1234,
  headerSize: 345,
  gmtime: 1699990005,
  cacheOffset: 5 * 2 ** 32 + 77,
  lastUpdated: 1700000100,
  systemFlags: FLAG.SEEN | FLAG.FLAGGED,
  internalFlags: IFLAG.EXPUNGED | IFLAG.ARCHIVED,
  userFlags: [0x80000001, 0, 0x4, 0xffffffff],
  savedate: 1700000050,
  cacheVersion: 11,
  guid: GUID,
  modseq: 2n ** 40n + 3n,
  cid: 0xfedcba9876543210n,
  createdmodseq: 99n,
  cacheCrc: 0xdeadbeef,
};

test('v17 header and record fields at their offsets', () => {
  const buf = encodeIndex(
    17,
    {
      generationNo: 3,
      lastAppenddate: 11,
      lastUid: 7,
      quotaMailboxUsed: 2n ** 33n,
      uidvalidity: 1700000000,
      options: OPT.IMAP_SHAREDSEEN,
      highestmodseq: 2n ** 40n + 3n,
      deletedmodseq: 5n,
      exists: 1,
      lastRepackTime: 44,
      headerFileCrc: 0x11223344,
      syncCrcBasic: 0xcafebabe,
      recentuid: 6,
      recenttime: 66,
      pop3ShowAfter: 77,
      quotaAnnotUsed: 88,
      syncCrcAnnot: 12345678,
      unseen: 1,
      createdmodseq: 2n,
      changesEpoch: 1234,
    },
    [FULL],
  );
  const { header: h, records } = decodeIndex(buf);
  assert.is(h.minorVersion, 17);
  assert.is(h.startOffset, 160);
  assert.is(h.recordSize, 112);
  assert.is(h.generationNo, 3);
  assert.is(h.quotaMailboxUsed, 2n ** 33n);
  assert.is(h.highestmodseq, 2n ** 40n + 3n);
  assert.is(h.deletedmodseq, 5n);
  assert.is(h.options, OPT.IMAP_SHAREDSEEN);
  assert.is(h.syncCrcBasic, 0xcafebabe);
  assert.is(h.syncCrcAnnot, 12345678);
  assert.equal([h.recentuid, h.recenttime, h.pop3ShowAfter, h.quotaAnnotUsed, h.unseen, h.changesEpoch, h.headerFileCrc], [6, 66, 77, 88, 1, 1234, 0x11223344]);
  assert.is(h.createdmodseq, 2n);
  assert.is(records.length, 1);
  const r = records[0];
  if (!r) return;
  assert.equal(
    { ...r },
    {
      recno: 1,
      uid: 7,
      internaldate: 1700000001,
      sentdate: 1699990000,
      size: 1234,
      headerSize: 345,
      gmtime: 1699990005,
      cacheOffset: 5 * 2 ** 32 + 77,
      lastUpdated: 1700000100,
      systemFlags: FLAG.SEEN | FLAG.FLAGGED,
      internalFlags: (IFLAG.EXPUNGED | IFLAG.ARCHIVED) >>> 0,
      userFlags: [0x80000001, 0, 0x4, 0xffffffff],
      savedate: 1700000050,
      cacheVersion: 11,
      guid: GUID,
      modseq: 2n ** 40n + 3n,
      cid: 0xfedcba9876543210n,
      createdmodseq: 99n,
      cacheCrc: 0xdeadbeef,
    },
  );
  assert.ok(isExpunged(r));
  assert.not.ok(isUnlinked(r));
  assert.equal([0, 31, 32, 66, 96, 127, 1, 65].map((s) => hasUserFlag(r, s)), [true, true, false, true, true, true, false, false]);
});

test('v19 (3.10) header: the moved fields and the two quota fields', () => {
  const fields = {
    generationNo: 3,
    lastAppenddate: 11,
    lastUid: 7,
    quotaMailboxUsed: 2n ** 33n,
    pop3LastLogin: 12,
    uidvalidity: 1700000000,
    deleted: 1,
    answered: 2,
    flagged: 3,
    options: OPT.IMAP_SHAREDSEEN,
    leakedCacheRecords: 4,
    highestmodseq: 2n ** 40n + 3n,
    deletedmodseq: 5n,
    exists: 1,
    firstExpunged: 13,
    lastRepackTime: 44,
    headerFileCrc: 0x11223344,
    syncCrcBasic: 0xcafebabe,
    recentuid: 6,
    recenttime: 66,
    pop3ShowAfter: 77,
    quotaAnnotUsed: 88,
    syncCrcAnnot: 12345678,
    unseen: 1,
    createdmodseq: 2n,
    changesEpoch: 1234,
    quotaDeletedUsed: 2n ** 35n + 1n,
    quotaExpungedUsed: 2n ** 36n + 2n,
  };
  for (const v of [18, 19]) {
    const { header: h, records } = decodeIndex(encodeIndex(v, fields, [FULL]));
    const { quotaDeletedUsed, quotaExpungedUsed, ...rest } = fields;
    for (const [k, want] of Object.entries(rest)) assert.is(h[k as keyof typeof h], want, `v${v} ${k}`);
    assert.is(h.quotaDeletedUsed, quotaDeletedUsed, `v${v}`);
    assert.is(h.quotaExpungedUsed, quotaExpungedUsed, `v${v}`);
    assert.is(h.startOffset, 160);
    assert.is(h.recordSize, 112);
    assert.is(records[0]?.cid, FULL.cid);
    assert.is(records[0]?.createdmodseq, FULL.createdmodseq);
  }
  // v17 has no quota fields.
  const v17 = decodeIndexHeader(encodeHeader(17, fields, 0));
  assert.is(v17.quotaDeletedUsed, 0n);
  assert.is(v17.highestmodseq, fields.highestmodseq);
});

test('the version is read per file: a v17 and a v19 image of the same state decode alike', () => {
  const state = { lastUid: 9, highestmodseq: 77n, deletedmodseq: 3n, exists: 2, options: OPT.IMAP_CONDSTORE, syncCrcBasic: 0x1234, syncCrcAnnot: 0x5678, changesEpoch: 99, createdmodseq: 4n };
  const a = decodeIndex(encodeIndex(17, state, [FULL]));
  const b = decodeIndex(encodeIndex(19, state, [FULL]));
  const strip = (h: Record<string, unknown>) => ({ ...h, minorVersion: 0 });
  assert.equal(strip({ ...a.header }), strip({ ...b.header }));
  assert.equal(a.records, b.records);
});

test('older versions: fields that do not exist read as Cyrus defaults them', () => {
  for (const v of SUPPORTED_MINOR_VERSIONS) {
    const buf = encodeIndex(v, { lastUid: 7, highestmodseq: 9n, deletedmodseq: 4n, exists: 1, syncCrcBasic: 5, syncCrcAnnot: 6, unseen: 2, createdmodseq: 3n, changesEpoch: 8, lastRepackTime: 10 }, [FULL]);
    const { header: h, records } = decodeIndex(buf);
    const r = records[0];
    assert.ok(r, `v${v}`);
    if (!r) continue;
    assert.is(h.minorVersion, v);
    assert.is(h.highestmodseq, v >= 8 ? 9n : 1n, `v${v} highestmodseq`);
    assert.is(h.deletedmodseq, v >= 12 ? 4n : h.highestmodseq, `v${v} deletedmodseq`);
    assert.is(h.exists, v >= 12 ? 1 : 1, `v${v} exists`);
    assert.is(h.syncCrcBasic, v >= 12 ? 5 : 0);
    assert.is(h.syncCrcAnnot, v >= 13 ? 6 : 0);
    assert.is(h.unseen, v >= 14 ? 2 : 0);
    assert.is(h.createdmodseq, v >= 16 ? 3n : 0n);
    assert.is(h.changesEpoch, v >= 17 ? 8 : v >= 12 ? 10 : 0);
    // v<12 files have no exists field; Cyrus then always sets POP3_NEW_UIDL.
    assert.is(h.options & OPT.POP3_NEW_UIDL, v < 12 ? OPT.POP3_NEW_UIDL : 0, `v${v} options`);
    assert.is(r.uid, 7);
    assert.is(r.modseq, v >= 8 ? FULL.modseq : 0n, `v${v} modseq`);
    assert.is(r.guid, v >= 10 ? GUID : '0'.repeat(40), `v${v} guid`);
    assert.is(r.cid, v >= 13 ? FULL.cid : 0n, `v${v} cid`);
    assert.is(r.savedate, v >= 15 ? FULL.savedate : 0, `v${v} savedate`);
    assert.is(r.createdmodseq, v >= 16 ? 99n : 0n, `v${v} createdmodseq`);
    assert.is(r.cacheCrc, v >= 12 ? 0xdeadbeef : 0, `v${v} cache crc`);
  }
});

test('selective reads decode exactly the records a full decode would select', () => {
  // UIDs ascending with gaps and damaged uid-0 slots; modseqs unordered and across the 32-bit boundary.
  const modseqs = [5n, 2n ** 32n + 1n, 7n, 2n ** 32n, 3n, 2n ** 32n - 1n, 9n, 2n ** 33n];
  const records: RecordFields[] = modseqs.map((modseq, i) => ({ uid: i === 2 || i === 6 ? 0 : 10 + 3 * i, modseq }));
  for (const v of SUPPORTED_MINOR_VERSIONS) {
    const buf = encodeIndex(v, { exists: records.length }, records);
    const all = decodeIndex(buf).records;
    for (const since of [0n, 4n, 7n, 2n ** 32n - 1n, 2n ** 32n, 2n ** 33n]) {
      assert.equal(new IndexImage(buf).modifiedSince(since), all.filter((r) => r.modseq > since), `v${v} modseq > ${since}`);
    }
    for (const uid of [0, 9, 10, 16, 17, 30, 31, 100]) {
      assert.equal(new IndexImage(buf).uidAbove(uid), all.filter((r) => r.uid > uid), `v${v} uid > ${uid}`);
    }
    const image = new IndexImage(buf);
    assert.equal(image.all(), all);
    assert.equal(image.modifiedSince(4n), all.filter((r) => r.modseq > 4n), `v${v} after all()`);
  }
});

test('selective reads check the CRC of the records they decode, and only those', () => {
  const good = encodeIndex(17, { exists: 3 }, [{ uid: 1, modseq: 1n }, { uid: 2, modseq: 2n }, { uid: 3, modseq: 3n }]);
  const damaged = Buffer.from(good);
  damaged[160 + 5] = (damaged[160 + 5] as number) ^ 1; // record 1's internaldate
  assert.equal(new IndexImage(damaged).uidAbove(1).map((r) => r.uid), [2, 3]);
  assert.equal(new IndexImage(damaged).modifiedSince(1n).map((r) => r.uid), [2, 3]);
  assert.throws(() => new IndexImage(damaged).modifiedSince(0n), (e: unknown) => e instanceof IndexChecksumError && e.recno === 1);
});

test('POP3_NEW_UIDL is implied when exists is 0; highestmodseq 0 reads as 1', () => {
  const h = decodeIndexHeader(encodeHeader(17, { exists: 0, options: OPT.IMAP_DUPDELIVER, highestmodseq: 0n }, 0));
  assert.is(h.options, OPT.IMAP_DUPDELIVER | OPT.POP3_NEW_UIDL);
  assert.is(h.storedOptions, OPT.IMAP_DUPDELIVER);
  assert.is(h.highestmodseq, 1n);
});

test('CRC, version and size checks', () => {
  const good = encodeIndex(17, { exists: 2 }, [{ uid: 1 }, { uid: 2 }]);
  const hdr = Buffer.from(good);
  hdr[30] = (hdr[30] as number) ^ 1;
  assert.throws(() => decodeIndex(hdr), (e: unknown) => e instanceof IndexChecksumError && e.recno === null);
  const rec = Buffer.from(good);
  rec[160 + 112 + 5] = (rec[160 + 112 + 5] as number) ^ 1;
  assert.throws(() => decodeIndex(rec), (e: unknown) => e instanceof IndexChecksumError && e.recno === 2);
  // v10 has no CRCs, so the same damage goes unnoticed.
  const v10 = encodeIndex(10, {}, [{ uid: 1 }]);
  v10[96 + 5] = 9;
  assert.is(decodeIndex(v10).records[0]?.internaldate, 9 << 16);
  for (const v of [11, 20, 5]) {
    const b = encodeHeader(17, {}, 0);
    b.writeUInt32BE(v, 8);
    assert.throws(() => decodeIndexHeader(b), (e: unknown) => e instanceof IndexFormatError && /unsupported minor version/.test((e as Error).message), `v${v}`);
  }
  assert.throws(() => decodeIndex(good.subarray(0, good.length - 1)), /records need/);
  assert.throws(() => decodeIndexHeader(good.subarray(0, 100)), /needs 160 bytes/);
  // A larger record_size and extra bytes after the last record are fine.
  const wide = Buffer.concat([encodeHeader(17, {}, 1, 120), encodeRecord(17, { uid: 5 }, 120), Buffer.alloc(50)]);
  wide.writeUInt32BE(0, 156);
  const fixed = Buffer.from(wide);
  fixed.writeUInt32BE(crc32(fixed.subarray(0, 156)), 156);
  assert.is(decodeIndex(fixed).records[0]?.uid, 5);
});

test('uid 0 slots are skipped like Cyrus iterators do', () => {
  const { records } = decodeIndex(encodeIndex(17, {}, [{ uid: 1 }, { uid: 0 }, { uid: 3 }]));
  assert.equal(
    records.map((r) => [r.recno, r.uid]),
    [
      [1, 1],
      [3, 3],
    ],
  );
});

test('cyrus.index written by reconstruct agrees with mbexamine', () => {
  const why = cyrusUnavailable();
  if (why) return skip('cyrus.index written by reconstruct', why);
  const env = CyrusEnv.create();
  try {
    const { cfg, locations } = createMailboxes(env, [{ name: 'user.tom', uniqueid: '3f2a9c1e-1111-2222-3333-444455556666', count: 4 }]);
    const loc = locations.get('user.tom');
    if (!loc) throw new Error('no fixture');
    env.must('ipurge', ['-f', '-b', '150', 'user.tom']);
    const { header: h, records } = decodeIndex(fs.readFileSync(metaOf(cfg, loc, 'index')));
    const text = env.must('mbexamine', ['user.tom']).toString();
    const field = (re: RegExp): string => re.exec(text)?.[1] ?? '';
    assert.is(h.minorVersion, Number(field(/Minor Version: (\d+)/)));
    assert.is(h.uidvalidity, Number(field(/UIDValidity: (\d+)/)));
    assert.is(h.lastUid, Number(field(/Last UID: (\d+)/)));
    assert.is(String(h.highestmodseq), field(/Highest Mod Sequence: (\d+)/));
    assert.is(h.exists, Number(field(/Number of Messages: (\d+)/)));
    // mbexamine hides expunged records.
    const shown = [...text.matchAll(/UID:0*(\d+)\s+INT_DATE:(\d+) SENTDATE:(\d+) SAVEDATE:(\d+) SIZE:(\d+)\s*\n\s*> HDRSIZE:(\d+)\s+LASTUPD :(\d+) SYSFLAGS:([0-9a-fA-F]+)\s+> CACHEVER:(\d+) GUID:([0-9a-f]+) MODSEQ:(\d+)\s+THRID: *([0-9a-f]+)/g)];
    const live = records.filter((r) => !isExpunged(r));
    assert.is(shown.length, live.length);
    assert.ok(records.length > live.length, 'ipurge expunged something');
    shown.forEach((m, i) => {
      const r = live[i];
      if (!r) return;
      assert.equal(
        [r.uid, r.internaldate, r.sentdate, r.savedate, r.size, r.headerSize, r.lastUpdated, r.systemFlags, r.cacheVersion, r.guid, String(r.modseq), r.cid.toString(16)],
        [Number(m[1]), Number(m[2]), Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]), Number(m[7]), parseInt(m[8] ?? '', 16), Number(m[9]), m[10], m[11], m[12]],
      );
    });
    const unexp = env.must('unexpunge', ['-l', 'user.tom']).toString();
    assert.equal(
      [...unexp.matchAll(/^UID: (\d+)/gm)].map((m) => Number(m[1])),
      records.filter(isExpunged).map((r) => r.uid),
    );
  } finally {
    env.cleanup();
  }
});

test.run();
