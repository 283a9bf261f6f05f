/**
 * Real-master assertions on mailboxes: mailboxes.db as the reader decodes
 * it vs `ctl_mboxlist -d [-y]` and the raw records of `cyr_dbtool` (on a
 * copy); every live mailbox's cyrus.index header and records vs `mbexamine`
 * (non-expunged) and `unexpunge -l` (expunged, still in the index); paths
 * vs `mbpath -j`; message files vs the records' sizes.
 */
import fs from 'node:fs';
import * as assert from 'uvu/assert';
import { formatMbType, hasUserFlag, isExpunged, isUnlinked, mboxlistPath, type MailboxSnapshot } from '../../../src/cyrus/index.js';
import type { CyrusLab } from '../../../lab/cyrus-lab.js';
import type { ReaderView } from './reader-view.js';
import { ctlMboxlistDump, dbtoolShow, mbexamine, mbpath, unexpungeList } from './tool-oracles.js';
import { readDbSync } from '../../support/read-db-sync.js';

const hex = (rows: Iterable<readonly [Buffer, Buffer]>): string[] => [...rows].map(([k, v]) => `${k.toString('hex')}=${v.toString('hex')}`);

export function checkMboxlist(lab: CyrusLab, view: ReaderView): void {
  const all = ctlMboxlistDump(lab, true);
  const noInter = ctlMboxlistDump(lab, false);
  assert.equal(view.entries.map((e) => e.name).sort(), Object.keys(all).sort(), 'same names as ctl_mboxlist -d -y');
  for (const e of view.entries) {
    const d = all[e.name]!;
    const aclIds = Object.fromEntries(e.aclEntries.map((a) => [a.id, a.rights]));
    assert.equal(
      { uniqueid: e.uniqueid ?? undefined, partition: e.partition ?? undefined, mbtype: formatMbType(e.mbtype), acl: aclIds, uidvalidity: String(e.uidvalidity), createdmodseq: String(e.createdmodseq), foldermodseq: String(e.foldermodseq), mtime: String(e.mtime) },
      { uniqueid: d.uniqueid, partition: d.partition, mbtype: d.mbtype, acl: d.acl, uidvalidity: d.uidvalidity, createdmodseq: d.createdmodseq, foldermodseq: d.foldermodseq, mtime: d.mtime },
      e.name,
    );
    // ctl_mboxlist hides intermediates unless -y: the reader's flag must say which.
    assert.is(e.mbtype.intermediate, !(e.name in noInter), `${e.name} intermediate`);
  }
  // The bytes under the decoding: every key and value as cyr_dbtool reads a copy.
  const raw = readDbSync(mboxlistPath(view.cfg));
  assert.ok(raw, 'mailboxes.db opens');
  assert.equal(hex([...raw.entries()].map((r) => [r.key, r.value] as const)), hex(dbtoolShow(lab, mboxlistPath(view.cfg), 'twoskip')), 'mailboxes.db records = cyr_dbtool');
}

function userFlagNames(s: MailboxSnapshot, words: readonly number[]): string[] {
  const out: string[] = [];
  s.userFlags.forEach((name, slot) => {
    if (name && hasUserFlag({ userFlags: words as [number, number, number, number] }, slot)) out.push(name);
  });
  return out.sort();
}

export function checkRecords(lab: CyrusLab, view: ReaderView): void {
  for (const [name, s] of view.snapshots) {
    const ex = mbexamine(lab, name);
    const ih = s.index;
    assert.equal(
      { uniqueid: s.uniqueid, minorVersion: ih.minorVersion, exists: ih.exists, uidvalidity: ih.uidvalidity, lastUid: ih.lastUid, highestmodseq: ih.highestmodseq, deleted: ih.deleted, answered: ih.answered, flagged: ih.flagged, size: Number(ih.quotaMailboxUsed), annotSize: ih.quotaAnnotUsed, flags: s.userFlags.filter(Boolean), acl: s.entry.acl },
      { uniqueid: ex.uniqueid, minorVersion: ex.minorVersion, exists: ex.exists, uidvalidity: ex.uidvalidity, lastUid: ex.lastUid, highestmodseq: ex.highestmodseq, deleted: ex.deleted, answered: ex.answered, flagged: ex.flagged, size: ex.quotaMailboxUsed, annotSize: ex.quotaAnnotUsed, flags: ex.userFlags, acl: ex.acl },
      `${name} index header vs mbexamine`,
    );
    const live = s.records.filter((r) => !isExpunged(r));
    assert.equal(
      live.map((r) => ({ uid: r.uid, internaldate: r.internaldate, sentdate: r.sentdate, savedate: r.savedate, size: r.size, headerSize: r.headerSize, lastUpdated: r.lastUpdated, systemFlags: r.systemFlags, cacheVersion: r.cacheVersion, guid: r.guid, modseq: r.modseq, cid: r.cid, userFlags: userFlagNames(s, r.userFlags) })),
      ex.records.map((r) => ({ uid: r.uid, internaldate: r.internaldate, sentdate: r.sentdate, savedate: r.savedate, size: r.size, headerSize: r.headerSize, lastUpdated: r.lastUpdated, systemFlags: r.systemFlags, cacheVersion: r.cacheVersion, guid: r.guid, modseq: r.modseq, cid: r.cid, userFlags: userFlagNames(s, r.userFlags) })),
      `${name} records vs mbexamine`,
    );
    const gone = s.records.filter((r) => isExpunged(r) && !isUnlinked(r));
    assert.equal(
      gone.map((r) => ({ uid: r.uid, size: r.size, internaldate: r.internaldate, expunged: r.lastUpdated })),
      unexpungeList(lab, name),
      `${name} expunged records vs unexpunge -l`,
    );
    const paths = mbpath(lab, name);
    assert.is(s.paths.dataDir, paths.data, `${name} data dir`);
    assert.is(s.paths.index, `${paths.meta}/cyrus.index`, `${name} meta dir`);
    for (const r of s.records) {
      if (r.file) assert.is(fs.statSync(r.file).size, r.size, `${name} uid ${r.uid} file size`);
    }
  }
}
