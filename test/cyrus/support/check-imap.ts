/**
 * Real-master assertions against IMAP, Cyrus's front door: STATUS,
 * MAILBOXID and the synccrcs metadata vs the index header and mailboxes.db,
 * and per message UID,
 * FLAGS (system + user flag names), RFC822.SIZE, INTERNALDATE, MODSEQ and
 * DIGEST.SHA1 vs the non-expunged records. User mailboxes are read as
 * their owner; other mailboxes as the admin (who needs 'r' there).
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import * as assert from 'uvu/assert';
import { FLAG, hasUserFlag, isExpunged, type IndexRecord, type MailboxSnapshot } from '../../../src/cyrus/index.js';
import type { CyrusLab } from '../../../lab/cyrus-lab.js';
import { withImap } from '../../../lab/lab-ops.js';
import { adminName, ownerName } from './ext-names.js';
import { imapMailbox } from './imap-view.js';
import type { ReaderView } from './reader-view.js';

const SYSTEM: ReadonlyArray<[number, string]> = [
  [FLAG.ANSWERED, '\\Answered'],
  [FLAG.FLAGGED, '\\Flagged'],
  [FLAG.DELETED, '\\Deleted'],
  [FLAG.DRAFT, '\\Draft'],
  [FLAG.SEEN, '\\Seen'],
];

/** The record's flags as IMAP shows them to the owner (owner seen state lives in the index). */
export function imapFlags(s: MailboxSnapshot, r: IndexRecord): string[] {
  const out = SYSTEM.filter(([bit]) => r.systemFlags & bit).map(([, n]) => n);
  s.userFlags.forEach((name, slot) => {
    if (name && hasUserFlag(r, slot)) out.push(name);
  });
  return out.sort();
}

/** Compares every live mailbox that `who` (owner, or admin for non-user ones) can EXAMINE. */
export async function checkImap(lab: CyrusLab, view: ReaderView, skip: (name: string) => boolean = () => false): Promise<number> {
  let checked = 0;
  for (const [name, s] of view.snapshots) {
    // DELETED.* are invisible to their former owner; imapd refuses to EXAMINE #sieve (type f).
    if (skip(name) || name.includes('DELETED.') || s.entry.mbtype.kind !== 'email') continue;
    const owner = s.owner;
    const ext = owner ? ownerName(name, owner) : adminName(name);
    if (ext === null) continue;
    const got = await withImap(lab.master, owner, (c) => imapMailbox(c, ext));
    const live = s.records.filter((r) => !isExpunged(r));
    assert.equal(
      { messages: got.messages, uidnext: got.uidnext, uidvalidity: got.uidvalidity, highestmodseq: got.highestmodseq, mailboxId: got.mailboxId, synccrcs: got.synccrcs },
      { messages: s.index.exists, uidnext: s.index.lastUid + 1, uidvalidity: s.entry.uidvalidity, highestmodseq: s.index.highestmodseq, mailboxId: s.uniqueid, synccrcs: `${s.index.syncCrcBasic} ${s.index.syncCrcAnnot}` },
      `${name} STATUS`,
    );
    assert.equal(
      got.list,
      live.map((r) => ({ uid: r.uid, flags: imapFlags(s, r), size: r.size, internaldate: r.internaldate, modseq: r.modseq, sha1: r.guid })),
      `${name} FETCH`,
    );
    // The GUID is the SHA-1 of the file the snapshot points at.
    for (const r of live) {
      assert.is(crypto.createHash('sha1').update(fs.readFileSync(r.file ?? '')).digest('hex'), r.guid, `${name} uid ${r.uid} body`);
    }
    checked++;
  }
  return checked;
}
