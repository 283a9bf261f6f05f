// Reader boundaries: every error a damaged master file causes is a typed
// CyrusFileError naming that file, also when decoded after the read.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'uvu';
import { mailboxAnnotations } from '../../src/cyrus/annotations.js';
import { decodeDb } from '../../src/cyrus/cyrusdb/open.js';
import { readDbSync } from '../support/read-db-sync.js';
import { DbMemo } from '../../src/cyrus/cyrusdb/read-memo.js';
import * as assert from 'uvu/assert';
import { CyrusDbError } from '../../src/cyrus/cyrusdb/types.js';
import { CyrusFileError } from '../../src/cyrus/file-error.js';
import { IndexFormatError, IndexImage } from '../../src/cyrus/index-file.js';
import { decodeSeenDb, SeenFormatError } from '../../src/cyrus/seen.js';
import { installAllocationGuard, takeViolations } from './support/guards.js';

installAllocationGuard();
const fixture = (name: string): Buffer => fs.readFileSync(path.join(path.dirname(new URL(import.meta.url).pathname), 'fixtures', name));

/** fn must throw an instance of cls (not a RangeError, not a hang) and trip no guard. */
function throwsTyped(fn: () => unknown, cls: abstract new (...a: never[]) => Error, re?: RegExp): Error {
  takeViolations();
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  assert.equal(takeViolations(), []);
  assert.ok(caught instanceof cls, `expected ${cls.name}, got ${caught instanceof Error ? `${caught.constructor.name}: ${caught.message}` : String(caught)}`);
  if (re) assert.match((caught as Error).message, re);
  return caught as Error;
}

test('cyrus.index: header and record errors name the file, also for records decoded later', () => {
  const v17 = fs.readFileSync(path.join(path.dirname(new URL(import.meta.url).pathname), '../cyrus/fixtures/cyrus-3.10/upgrade/v17.cyrus.index'));
  const e = throwsTyped(() => new IndexImage(v17.subarray(0, 100), '/spool/tom/cyrus.index'), IndexFormatError);
  assert.is((e as IndexFormatError).path, '/spool/tom/cyrus.index');
  const flipped = Buffer.from(v17);
  flipped[v17.readUInt32BE(12) + 4]! ^= 1;
  const image = new IndexImage(flipped, '/spool/tom/cyrus.index');
  const late = throwsTyped(() => image.all(), IndexFormatError, /CRC/);
  assert.is((late as IndexFormatError).path, '/spool/tom/cyrus.index');
});

test('seen: a garbage value is a SeenFormatError naming the file; every reader error is a CyrusFileError', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'syncmux-fuzz-'));
  try {
    const file = path.join(dir, 'tom.seen');
    const b = Buffer.from(fixture('seen.twoskip'));
    fs.writeFileSync(file, Buffer.from('3f2a\tgarbage\n'));
    const readSeen = (f: string) => { const db = readDbSync(f); return db && decodeSeenDb(db); }; // readSeenFile's decoding, read synchronously
    const e = throwsTyped(() => readSeen(file), SeenFormatError, /unsupported version/);
    assert.is((e as SeenFormatError).path, file);
    assert.ok(e instanceof CyrusFileError);
    fs.writeFileSync(file, b.subarray(0, 100));
    const d = throwsTyped(() => readSeen(file), CyrusDbError);
    assert.is((d as CyrusDbError).path, file);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('annotations, seen, subs: a memo miss passes through the typed-error boundary untouched', () => {
  const memo = new DbMemo();
  const db = decodeDb(fs.readFileSync(path.join(path.dirname(new URL(import.meta.url).pathname), 'fixtures', 'annotations.twoskip')), '/conf/annotations.db');
  const inbox = '3f2a9c1e-1111-2222-3333-444455556666';
  assert.is(mailboxAnnotations(memo.record('id', db), inbox).length, 2);
  assert.is(memo.answer('id', (d) => mailboxAnnotations(d, inbox))?.value.length, 2);
  // Not kept: the memo must say so (undefined), not an AnnotationFormatError.
  assert.is(memo.answer('id', (d) => mailboxAnnotations(d, 'af01aaaa-1111-2222-3333-444455556666')), undefined);
});

test.run();
