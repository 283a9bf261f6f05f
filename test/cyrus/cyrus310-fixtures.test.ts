/**
 * Real cyrus.index files written by Cyrus 3.6.1 (v17) and 3.10.1 (v19), see
 * fixtures/cyrus-3.10/README.md: the reader must take the layout from each
 * file's own version, agree with 3.10.1's mbexamine, and recompute the
 * SYNC_CRCs the writer stored. Also a 3.10.1 conversations DB, and the
 * mailboxes.db, subscriptions and quota files of a 3.10.1 configdirectory.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { folderThreadModseq } from '../../src/cyrus/conversations.js';
import { decodeDb } from '../../src/cyrus/cyrusdb/open.js';
import { decodeHeader } from '../../src/cyrus/header.js';
import { decodeIndex, FLAG, isExpunged, type IndexFile } from '../../src/cyrus/index-file.js';
import { Mboxlist } from '../../src/cyrus/mboxlist.js';
import { formatMbType } from '../../src/cyrus/mbtype.js';
import { decodeQuotaFile } from '../../src/cyrus/quota.js';
import { decodeSubscriptions } from '../../src/cyrus/subs.js';
import { computeSyncCrcs } from '../../src/cyrus/synccrc.js';

const dir = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', 'cyrus-3.10');
const read = (f: string): Buffer => fs.readFileSync(path.join(dir, f));

function assertStoredCrcs(idx: IndexFile, flags: ReadonlyArray<string | null>, what: string): void {
  const crcs = computeSyncCrcs(idx.records, flags, idx.header.minorVersion);
  assert.is(crcs.basic, idx.header.syncCrcBasic, `${what} SYNC_CRC`);
  assert.is(crcs.annot, idx.header.syncCrcAnnot, `${what} SYNC_CRC_ANNOT`);
}

test('3.6.1 v17 and its 3.10.1 "reconstruct -V max" v19 decode to the same mailbox', () => {
  const v17 = decodeIndex(read('upgrade/v17.cyrus.index'));
  const v19 = decodeIndex(read('upgrade/v19.cyrus.index'));
  const flags = decodeHeader(read('upgrade/cyrus.header')).userFlags;
  assert.equal(flags, ['$Label1']);
  assert.is(v17.header.minorVersion, 17);
  assert.is(v19.header.minorVersion, 19);
  // What 3.6.1's mbexamine printed for the v17 file.
  for (const { header: h } of [v17, v19]) {
    assert.equal([h.numRecords, h.exists, h.lastUid, h.highestmodseq, h.flagged, h.uidvalidity], [3, 2, 3, 8n, 1, 1796617974]);
    assert.equal([h.quotaMailboxUsed, h.createdmodseq, h.unseen, h.recentuid], [2202n, 1n, 2, 3]);
  }
  // reconstruct bumped the generation, stamped its repack time and counted the expunged bytes.
  const { generationNo: g17, lastRepackTime: r17, minorVersion: m17, quotaExpungedUsed: q17, ...rest17 } = v17.header;
  const { generationNo: g19, lastRepackTime: r19, minorVersion: m19, quotaExpungedUsed: q19, ...rest19 } = v19.header;
  assert.equal(rest19, rest17);
  assert.equal([g17, g19, r17, q17, q19], [0, 1, 0, 0n, 1101n]);
  assert.ok(r19 > 0 && m17 !== m19);
  assert.equal(v19.records, v17.records);
  assert.equal(
    v19.records.map((r) => [r.uid, r.modseq, r.systemFlags, isExpunged(r), r.userFlags[0], r.guid.slice(0, 8)]),
    [
      [1, 5n, FLAG.FLAGGED, false, 1, '92d0930b'],
      [2, 7n, FLAG.DELETED, true, 0, 'cd119111'],
      [3, 4n, 0, false, 0, '8ff6706c'],
    ],
  );
  assertStoredCrcs(v17, flags, 'v17');
  assertStoredCrcs(v19, flags, 'v19');
});

/** The index header and per-message lines of 3.10.1's mbexamine output. */
function parseMbexamine(text: string) {
  const num = (re: RegExp): number => Number(re.exec(text)?.[1] ?? NaN);
  const messages = [...text.matchAll(/UID:(\d+)[^\n]*\n[^\n]*SYSFLAGS:([0-9A-F]+)[^\n]*GUID:([0-9a-f]{40}) MODSEQ:(\d+)[^\n]*\n[^\n]*\n\s*> USERFLAGS: ([0-9A-F]{8}) ([0-9A-F]{8}) ([0-9A-F]{8}) ([0-9A-F]{8})/g)].map((m) => ({
    uid: Number(m[1]),
    sysflags: parseInt(m[2] ?? '', 16),
    guid: m[3],
    modseq: BigInt(m[4] ?? '0'),
    // printed from the highest word down
    userFlags: [m[8], m[7], m[6], m[5]].map((w) => parseInt(w ?? '', 16)),
  }));
  return {
    minorVersion: num(/Minor Version: (\d+)/),
    exists: num(/Number of Messages: (\d+)/),
    mailboxSize: num(/Mailbox Size: (\d+) bytes/),
    deletedSize: num(/Deleted Size: (\d+) bytes/),
    expungedSize: num(/Expunged Size: (\d+) bytes/),
    uidvalidity: num(/UIDValidity: (\d+)/),
    lastUid: num(/Last UID: (\d+)/),
    flagged: num(/Flagged: (\d+)/),
    highestmodseq: BigInt(/Highest Mod Sequence: (\d+)/.exec(text)?.[1] ?? '0'),
    userFlags: (/User Flags: ([^\n]*)/.exec(text)?.[1] ?? '').trim().split(' '),
    messages,
  };
}

test('a mailbox written by 3.10.1 reads as 3.10.1 mbexamine shows it', () => {
  const idx = decodeIndex(read('fresh/cyrus.index'));
  const hdr = decodeHeader(read('fresh/cyrus.header'));
  const want = parseMbexamine(read('fresh/mbexamine.txt').toString('utf8'));
  const h = idx.header;
  assert.is(want.messages.length, 7);
  assert.equal(
    [h.minorVersion, h.exists, h.quotaMailboxUsed, h.quotaDeletedUsed, h.quotaExpungedUsed, h.uidvalidity, h.lastUid, h.flagged, h.highestmodseq],
    [want.minorVersion, want.exists, BigInt(want.mailboxSize), BigInt(want.deletedSize), BigInt(want.expungedSize), want.uidvalidity, want.lastUid, want.flagged, want.highestmodseq],
  );
  assert.equal(hdr.userFlags, want.userFlags);
  assert.equal(
    idx.records.filter((r) => !isExpunged(r)).map((r) => ({ uid: r.uid, sysflags: r.systemFlags, guid: r.guid, modseq: r.modseq, userFlags: [...r.userFlags] })),
    want.messages,
  );
  assertStoredCrcs(idx, hdr.userFlags, '3.10.1');
});

test('a 3.10.1 conversations DB: version 3 G records beside the F record we read', () => {
  const db = decodeDb(read('conversations/conversations.db'));
  assert.is(db.backend, 'skiplist');
  // cyr_dbtool … show printed "F35hpjpryq1es6jn9hztxb4j9  0 (22 10 9 10 9)": threadmodseq 22.
  assert.is(folderThreadModseq(db, { uniqueid: '35hpjpryq1es6jn9hztxb4j9', name: 'user.alice' }), 22n);
  // 3.10 writes G values as version 3 (0x83: cid, flags, internaldate, then the new basecid: 33 bytes);
  // 3.6 wrote version 2 (25 bytes). sync_client never reads them.
  const g = [...db.entries('G')].filter((e) => e.value.length > 0);
  assert.ok(g.length > 0);
  for (const e of g) assert.equal([e.value[0], e.value.length], [0x83, 33], e.key.toString('latin1'));
});

test('a 3.10.1 mailboxes.db reads as 3.10.1 ctl_mboxlist -d -y prints it', () => {
  const ml = new Mboxlist(decodeDb(read('configdir/mailboxes.db')), { deletedPrefix: 'DELETED', defaultDomain: null });
  const dump = JSON.parse(read('configdir/ctl_mboxlist-d-y.json').toString()) as Record<string, Record<string, unknown>>;
  const mine = [...ml.entries()];
  assert.equal(mine.map((e) => e.name).sort(), Object.keys(dump).sort());
  for (const e of mine) {
    const d = dump[e.name] ?? {};
    assert.equal(
      [formatMbType(e.mbtype), e.uniqueid, e.partition, String(e.uidvalidity), String(e.createdmodseq), String(e.foldermodseq), String(e.mtime)],
      [d.mbtype, d.uniqueid, d.partition ?? null, d.uidvalidity, d.createdmodseq, d.foldermodseq, d.mtime],
      e.name,
    );
    assert.equal(Object.fromEntries(e.aclEntries.map((a) => [a.id, a.rights])), d.acl ?? {}, e.name);
    // Every live entry has its I record naming it (3.10 mailbox ids are 24-char, not UUIDs).
    if (e.uniqueid && !e.mbtype.deleted) assert.is(ml.byUniqueId(e.uniqueid)?.name, e.name);
  }
  assert.ok(mine.length >= 10);
  // The cross-user rename left its history in the I record.
  assert.equal(ml.byUniqueId(ml.lookup('user.alice.FromCarol')?.uniqueid ?? '')?.history.map((h) => h.name), ['user.carol.Sent']);
});

test('a 3.10.1 subscription DB (still version 2) and quota file', () => {
  const subs = decodeDb(read('configdir/alice.sub.db'));
  assert.is(subs.backend, 'flat');
  assert.equal(decodeSubscriptions(subs, 'alice', { deletedPrefix: 'DELETED', defaultDomain: null }), ['user.alice', 'user.alice.Drafts', 'user.alice.Sent', 'user.alice.Trash']);
  // SETQUOTA user/alice (STORAGE 10000 MESSAGE 100); on disk still the S/M/AS/NF keys.
  const q = decodeQuotaFile('user.alice', read('configdir/quota.user.alice'));
  assert.equal(q.limits, { STORAGE: 10000n, MESSAGE: 100n, 'X-ANNOTATION-STORAGE': null, 'X-NUM-FOLDERS': null });
  assert.equal([q.used.STORAGE, q.used.MESSAGE, q.used['X-NUM-FOLDERS'], q.modseq], [16568n, 15n, 6n, 39n]);
});

test.run();
