// Stored-value bugs the fuzzers found (test/fuzz/support/targets.ts), each
// pinned on a hand-made input: errors that escaped untyped, deep nesting.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { DlistSyntaxError, parseDlistValue } from '../../src/cyrus/dlist-value.js';
import { decodeHeader, HEADER_MAGIC, HeaderFormatError } from '../../src/cyrus/header.js';
import { decodeMbEntry, MboxlistError } from '../../src/cyrus/mboxlist.js';
import { decodeQuotaFile, QuotaFormatError } from '../../src/cyrus/quota.js';
import { installAllocationGuard, takeViolations } from './support/guards.js';

installAllocationGuard();
const CTX = { deletedPrefix: 'DELETED', defaultDomain: null };

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

test('dlist values: deep nesting is a syntax error, not a stack overflow', () => {
  throwsTyped(() => parseDlistValue('('.repeat(100_000)), DlistSyntaxError, /nested deeper/);
  throwsTyped(() => decodeMbEntry('user\x1ftom', Buffer.from(`%(A ${'('.repeat(100_000)}`), CTX), MboxlistError, /nested deeper/);
  throwsTyped(() => decodeQuotaFile('user.tom', Buffer.from(`%(S ${'('.repeat(100_000)}\n`)), QuotaFormatError, /nested deeper/);
  assert.equal(parseDlistValue(`${'('.repeat(100)}x${')'.repeat(100)}`) !== null, true);
});

test('cyrus.header: an unknown mailbox type is a HeaderFormatError naming the file', () => {
  const b = Buffer.concat([HEADER_MAGIC, Buffer.from('%(T user.tom I 3f2a N user.tom)\n')]);
  const e = throwsTyped(() => decodeHeader(b, '/spool/tom/cyrus.header'), HeaderFormatError, /unknown mbtype letter/);
  assert.is((e as HeaderFormatError).path, '/spool/tom/cyrus.header');
});

test('mailboxes.db: an unknown mailbox type is an MboxlistError naming the record', () => {
  throwsTyped(() => decodeMbEntry('user\x1ftom', Buffer.from('%(T q P default)'), CTX), MboxlistError, /Nuser\x1ftom.*unknown mbtype letter/);
  throwsTyped(() => decodeMbEntry('user\x1ftom', Buffer.from('999 default tom\tlrs\t'), CTX), MboxlistError, /unknown mailbox type/);
});

test('quota: a damaged dlist value is a QuotaFormatError naming the file', () => {
  const e = throwsTyped(() => decodeQuotaFile('user.tom', Buffer.from('%(S\0(12 1024))\n'), '/conf/quota/t/user.tom'), QuotaFormatError);
  assert.is((e as QuotaFormatError).path, '/conf/quota/t/user.tom');
});

test.run();
