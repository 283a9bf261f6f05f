/**
 * The selective cyrus.index read a steady-state pass makes (the addon's
 * selectIndexRecords and IndexSelection): inside its scope it answers
 * exactly what the whole-file IndexImage answers, for every index version;
 * outside it throws; a short file is an IndexFormatError.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  IndexChecksumError,
  IndexImage,
  IndexScopeError,
  IndexSelection,
  MAX_HEADER_LENGTH,
  recordModseqOffset,
  selectionHeader,
  SUPPORTED_MINOR_VERSIONS,
  type IndexScope,
} from '../../src/cyrus/index-file.js';
import { selectIndexRecords } from '../../src/native/index.js';
import { encodeIndex, type RecordFields } from './support/index-writer.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'syncmux-index-select-'));
test.after(() => fs.rmSync(dir, { recursive: true, force: true }));

let files = 0;
/** The selection of `buf` (as a file) for `scope`, or null when the addon finds the file short. */
function select(buf: Buffer, scope: IndexScope): IndexSelection | null {
  const file = path.join(dir, `cyrus.index.${files++}`);
  fs.writeFileSync(file, buf);
  const fd = fs.openSync(file, 'r');
  try {
    const header = selectionHeader(buf.subarray(0, MAX_HEADER_LENGTH));
    const layout = { startOffset: header.startOffset, recordSize: header.recordSize, numRecords: header.numRecords, modseqOffset: recordModseqOffset(header.minorVersion) };
    const selected = selectIndexRecords(fd, layout, scope.modseq, scope.uid);
    return selected && new IndexSelection(header, selected, scope);
  } finally {
    fs.closeSync(fd);
  }
}

// UIDs ascending with gaps and damaged uid-0 slots; modseqs unordered and across the 32-bit boundary.
const MODSEQS = [5n, 2n ** 32n + 1n, 7n, 2n ** 32n, 3n, 2n ** 32n - 1n, 9n, 2n ** 33n, 1n, 6n];
const RECORDS: RecordFields[] = MODSEQS.map((modseq, i) => ({ uid: i === 2 || i === 6 ? 0 : 10 + 3 * i, modseq }));
const SINCE = [0n, 4n, 7n, 2n ** 32n - 1n, 2n ** 32n, 2n ** 33n];
const UIDS = [0, 9, 10, 16, 17, 30, 31, 100];

test('inside its scope a selection answers as the whole image does, for every version', () => {
  for (const v of SUPPORTED_MINOR_VERSIONS) {
    const buf = encodeIndex(v, { exists: RECORDS.length }, RECORDS);
    const image = new IndexImage(buf);
    for (const modseq of SINCE) {
      for (const uid of UIDS) {
        const sel = select(buf, { modseq, uid });
        assert.ok(sel, `v${v}: file long enough`);
        for (const m of SINCE.filter((x) => x >= modseq)) assert.equal(sel.modifiedSince(m), image.modifiedSince(m), `v${v} scope ${modseq}/${uid}: modseq > ${m}`);
        for (const u of UIDS.filter((x) => x >= uid)) assert.equal(sel.uidAbove(u), image.uidAbove(u), `v${v} scope ${modseq}/${uid}: uid > ${u}`);
      }
    }
  }
});

test('outside its scope a selection throws rather than answer from records it did not read', () => {
  const sel = select(encodeIndex(17, { exists: RECORDS.length }, RECORDS), { modseq: 7n, uid: 16 });
  assert.ok(sel);
  assert.throws(() => sel.all(), (e: unknown) => e instanceof IndexScopeError && e.code === 'SYNCMUX_INDEX_SCOPE');
  assert.throws(() => sel.modifiedSince(6n), (e: unknown) => e instanceof IndexScopeError);
  assert.throws(() => sel.uidAbove(15), (e: unknown) => e instanceof IndexScopeError);
});

test('a file shorter than its records is refused; CRCs are checked on the selected records only', () => {
  const good = encodeIndex(17, { exists: 3 }, [{ uid: 1, modseq: 1n }, { uid: 2, modseq: 2n }, { uid: 3, modseq: 3n }]);
  assert.is(select(good.subarray(0, good.length - 1), { modseq: 2n, uid: 2 }), null);
  const damaged = Buffer.from(good);
  damaged[160 + 5] = (damaged[160 + 5] as number) ^ 1; // record 1's internaldate
  assert.equal(select(damaged, { modseq: 1n, uid: 1 })?.uidAbove(1).map((r) => r.uid), [2, 3]);
  assert.throws(() => select(damaged, { modseq: 0n, uid: 0 }), (e: unknown) => e instanceof IndexChecksumError && e.recno === 1);
});

test('the addon validates its layout arguments', () => {
  const fd = fs.openSync(new URL(import.meta.url).pathname, 'r');
  try {
    const layout = { startOffset: 0, recordSize: 112, numRecords: 0, modseqOffset: 80 };
    assert.throws(() => selectIndexRecords(fd, { ...layout, recordSize: 2 }, 0n, 0), RangeError);
    assert.throws(() => selectIndexRecords(fd, { ...layout, modseqOffset: 110 }, 0n, 0), RangeError);
    assert.throws(() => selectIndexRecords(fd, layout, -1n, 0), RangeError);
    assert.throws(() => selectIndexRecords(fd, layout, 0n, 2 ** 32), RangeError);
    assert.equal(selectIndexRecords(fd, layout, 0n, 0)?.length, 0);
  } finally {
    fs.closeSync(fd);
  }
});

test.run();
