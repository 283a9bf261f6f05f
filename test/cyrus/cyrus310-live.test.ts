/**
 * The index reader against Cyrus 3.10.1's own tools, on a throw-away
 * configdirectory: mailboxes 3.10.1's reconstruct writes (v19), and a spool
 * upgraded from 3.6.1 where v17 and v19 files sit side by side. Skips, with
 * the reason, when either build is missing; under CI=true that fails.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import { decodeHeader } from '../../src/cyrus/header.js';
import { decodeIndex, isExpunged } from '../../src/cyrus/index-file.js';
import { computeSyncCrcs } from '../../src/cyrus/synccrc.js';
import { skip } from '../support/skip.js';
import { cyrus310, cyrusUnavailable, CyrusEnv, SYSTEM_BUILD, type CyrusBuild } from './support/cyrus-env.js';
import { createMailboxes, metaOf } from './support/mailbox-fixture.js';

function unavailable(name: string): CyrusBuild | null {
  const build = cyrus310();
  const why = cyrusUnavailable() ?? (typeof build === 'string' ? build : null);
  if (why) {
    if (process.env.CI === 'true') throw new Error(`${name}: cannot run in CI: ${why}`);
    skip(name, why);
    return null;
  }
  return build as CyrusBuild;
}

/** mbexamine's view: header numbers and, per shown (unexpunged) record, uid/guid/modseq. */
function mbexamine(env: CyrusEnv, mailbox: string) {
  const text = env.must('mbexamine', [mailbox]).toString();
  const field = (re: RegExp): string => re.exec(text)?.[1] ?? '';
  return {
    minorVersion: Number(field(/Minor Version: (\d+)/)),
    exists: Number(field(/Number of Messages: (\d+)/)),
    lastUid: Number(field(/Last UID: (\d+)/)),
    highestmodseq: BigInt(field(/Highest Mod Sequence: (\d+)/) || '0'),
    expungedSize: field(/Expunged Size: (\d+) bytes/),
    records: [...text.matchAll(/UID:0*(\d+)[\s\S]*?GUID:([0-9a-f]{40}) MODSEQ:(\d+)/g)].map((m) => [Number(m[1]), m[2], BigInt(m[3] ?? '0')]),
  };
}

function ours(file: string, headerFile: string) {
  const idx = decodeIndex(fs.readFileSync(file));
  const flags = decodeHeader(fs.readFileSync(headerFile)).userFlags;
  const live = idx.records.filter((r) => !isExpunged(r));
  return {
    idx,
    crcs: computeSyncCrcs(idx.records, flags, idx.header.minorVersion),
    view: {
      minorVersion: idx.header.minorVersion,
      exists: idx.header.exists,
      lastUid: idx.header.lastUid,
      highestmodseq: idx.header.highestmodseq,
      records: live.map((r) => [r.uid, r.guid, r.modseq]),
    },
  };
}

test('3.10.1 reconstruct writes v19, read as 3.10.1 mbexamine reads it', () => {
  const name = '3.10.1 reconstruct writes v19, read as 3.10.1 mbexamine reads it';
  const build = unavailable(name);
  if (!build) return;
  const env = CyrusEnv.create();
  env.build = build;
  try {
    const { cfg, locations } = createMailboxes(env, [{ name: 'user.tom', uniqueid: '3f2a9c1e-1111-2222-3333-444455556666', count: 4 }]);
    const loc = locations.get('user.tom')!;
    env.must('ipurge', ['-f', '-b', '150', 'user.tom']);
    const o = ours(metaOf(cfg, loc, 'index'), metaOf(cfg, loc, 'header'));
    const { expungedSize, ...tool } = mbexamine(env, 'user.tom');
    assert.equal(o.view, tool);
    assert.is(o.view.minorVersion, 19);
    assert.ok(o.idx.records.length > o.view.records.length, 'ipurge expunged something');
    assert.is(String(o.idx.header.quotaExpungedUsed), expungedSize);
    assert.equal([o.crcs.basic, o.crcs.annot], [o.idx.header.syncCrcBasic, o.idx.header.syncCrcAnnot]);
  } finally {
    env.cleanup();
  }
});

test('a 3.6.1 spool half upgraded by 3.10.1 reconstruct -V max reads per file', () => {
  const name = 'a 3.6.1 spool half upgraded by 3.10.1 reconstruct -V max reads per file';
  const build = unavailable(name);
  if (!build) return;
  const env = CyrusEnv.create();
  try {
    const { cfg, locations } = createMailboxes(env, [
      { name: 'user.tom', uniqueid: '3f2a9c1e-1111-2222-3333-444455556666', count: 3 },
      { name: 'user.tom.Sent', uniqueid: '3f2a9c1e-1111-2222-3333-777788889999', count: 2 },
    ]);
    env.must('ipurge', ['-f', '-b', '150', 'user.tom']);
    const files = (box: string) => [metaOf(cfg, locations.get(box)!, 'index'), metaOf(cfg, locations.get(box)!, 'header')] as const;
    const before = ours(...files('user.tom'));
    assert.is(before.view.minorVersion, 17);
    env.build = build;
    env.must('reconstruct', ['-V', 'max', 'user.tom']);
    const after = ours(...files('user.tom'));
    const sent = ours(...files('user.tom.Sent'));
    assert.equal([after.view.minorVersion, sent.view.minorVersion], [19, 17]);
    assert.equal(after.view, { ...before.view, minorVersion: 19 });
    assert.equal(after.idx.records, before.idx.records);
    assert.equal(after.crcs, before.crcs);
    assert.equal([after.idx.header.syncCrcBasic, after.idx.header.syncCrcAnnot], [before.idx.header.syncCrcBasic, before.idx.header.syncCrcAnnot]);
    // 3.10.1's tools read both versions as we do.
    const { expungedSize, ...tool } = mbexamine(env, 'user.tom');
    assert.equal(after.view, tool);
    assert.is(String(after.idx.header.quotaExpungedUsed), expungedSize);
    const { expungedSize: _, ...toolSent } = mbexamine(env, 'user.tom.Sent');
    assert.equal(sent.view, toolSent);
    env.build = SYSTEM_BUILD;
  } finally {
    env.cleanup();
  }
});

test.run();
