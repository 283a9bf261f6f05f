import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import { crc32 } from 'node:zlib';
import { decodeHeader, HEADER_MAGIC, HeaderFormatError } from '../../src/cyrus/header.js';
import { decodeIndex } from '../../src/cyrus/index-file.js';
import { skip } from '../support/skip.js';
import { cyrusUnavailable, CyrusEnv } from './support/cyrus-env.js';
import { createMailboxes, metaOf } from './support/mailbox-fixture.js';

const file = (rest: string): Buffer => Buffer.concat([HEADER_MAGIC, Buffer.from(rest, 'utf8')]);

test('magic is the 115 bytes Cyrus writes', () => {
  assert.is(HEADER_MAGIC.length, 115);
});

test('3.6 dlist header', () => {
  const b = file('%(T e N user.tom I 3f2a Q user.tom A %(tom lrswipkxtecdan anyone p) U ($Forwarded NIL Junk))\n');
  const h = decodeHeader(b);
  assert.is(h.format, 'dlist');
  assert.is(h.name, 'user.tom');
  assert.is(h.uniqueid, '3f2a');
  assert.is(h.mbtype?.kind, 'email');
  assert.is(h.quotaroot, 'user.tom');
  assert.is(h.acl, 'tom\tlrswipkxtecdan\tanyone\tp\t');
  assert.equal(h.userFlags, ['$Forwarded', null, 'Junk']);
  assert.is(h.fileCrc, crc32(b));
  const bare = decodeHeader(file('%(T f N user.tom.#sieve I x A %())\n'));
  assert.equal([bare.quotaroot, bare.userFlags, bare.acl, bare.mbtype?.kind], [null, [], '', 'sieve']);
  // Unchanged through 3.12; 3.13 adds J (a JMAP id) after I. Keys we do not know are skipped.
  const v313 = decodeHeader(file('%(T j N user.tom.N I 3f2a J Jx1 Q user.tom A %(tom lrs) U (A) Z %(k (v)))\n'));
  assert.equal([v313.uniqueid, v313.quotaroot, v313.acl, v313.userFlags, v313.mbtype?.kind], ['3f2a', 'user.tom', 'tom\tlrs\t', ['A'], 'jmapnotify']);
});

test('pre-3.6 header', () => {
  const h = decodeHeader(file('user.tom\t0123456789abcdef\n$Forwarded  Junk \ntom\tlrswipkxtecda\tanyone\tp\t\n'));
  assert.is(h.format, 'legacy');
  assert.is(h.quotaroot, 'user.tom');
  assert.is(h.uniqueid, '0123456789abcdef');
  assert.equal(h.userFlags, ['$Forwarded', null, 'Junk']);
  assert.is(h.acl, 'tom\tlrswipkxtecda\tanyone\tp\t');
  const ancient = decodeHeader(file('\n\n\n'));
  assert.equal([ancient.quotaroot, ancient.uniqueid, ancient.userFlags, ancient.acl], [null, null, [], '']);
  const noQuota = decodeHeader(file('\tuid1\n\nacl\n'));
  assert.equal([noQuota.quotaroot, noQuota.uniqueid], [null, 'uid1']);
});

test('malformed headers', () => {
  const bad = (b: Buffer): void => assert.throws(() => decodeHeader(b), (e: unknown) => e instanceof HeaderFormatError);
  bad(Buffer.from('not a header'));
  bad(file('%(T e N x'));
  bad(file('%(T e N x)) junk\n'));
  bad(file('quota\tuid\nflags only\n'));
});

test('cyrus.header written by reconstruct, and its CRC in the index', () => {
  const why = cyrusUnavailable();
  if (why) return skip('cyrus.header written by reconstruct', why);
  const env = CyrusEnv.create();
  try {
    const { cfg, locations } = createMailboxes(env, [{ name: 'user.tom', uniqueid: '3f2a9c1e-1111-2222-3333-444455556666', acl: { tom: 'lrswipkxtecdan', anyone: 'p' } }]);
    const loc = locations.get('user.tom');
    if (!loc) throw new Error('no fixture');
    const h = decodeHeader(fs.readFileSync(metaOf(cfg, loc, 'header')));
    assert.is(h.format, 'dlist');
    assert.is(h.name, 'user.tom');
    assert.is(h.uniqueid, '3f2a9c1e-1111-2222-3333-444455556666');
    assert.is(h.acl, 'tom\tlrswipkxtecdan\tanyone\tp\t');
    assert.is(h.fileCrc, decodeIndex(fs.readFileSync(metaOf(cfg, loc, 'index'))).header.headerFileCrc);
  } finally {
    env.cleanup();
  }
});

test.run();
