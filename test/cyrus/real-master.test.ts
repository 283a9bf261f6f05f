/**
 * The master-state reader against a real Cyrus 3.6.1 master (the project
 * harness), populated through LMTP, IMAP and ManageSieve only, then compared
 * with Cyrus's own tools (ctl_mboxlist, mbexamine, unexpunge, mbpath, quota,
 * cyr_dbtool on copies), with IMAP, and with the replica after stock
 * sync_client. The virtual-domain variant is real-master-domain.test.ts;
 * lock files across restarts are in real-master-locks.test.ts.
 */
import fs from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { entryState, isExpunged, FLAG, sieveMailboxName } from '../../src/cyrus/index.js';
import { CyrusLab } from '../../lab/cyrus-lab.js';
import { skip } from '../support/skip.js';
import { cyrusSkipReason } from '../support/cyrus.js';
import { checkCrcs } from './support/check-crcs.js';
import { checkImap } from './support/check-imap.js';
import { checkMboxlist, checkRecords } from './support/check-mailboxes.js';
import { checkAnnotations, checkQuota, checkSeenAndSubs } from './support/check-userdata.js';
import { populate, SHARED_MAILBOX, USERS, type Population } from './support/populate.js';
import { masterTrees, readerView, readEverything, rootOwned, type ReaderView } from './support/reader-view.js';

const reason = cyrusSkipReason();
let lab: CyrusLab | null = null;
let pop: Population;
let view: ReaderView;
let rootOwnedBefore: string[] = [];

test.before(async () => {
  if (reason) return;
  lab = await CyrusLab.start({ sieve: true });
  try {
    pop = await populate(lab);
    rootOwnedBefore = rootOwned(masterTrees(lab));
    view = await readerView(lab);
  } catch (e) {
    await lab.destroy();
    lab = null;
    throw e;
  }
});
test.after(async () => {
  await lab?.destroy();
});

const ready = (name: string): CyrusLab | null => {
  if (reason || !lab) skip(name, reason ?? 'no lab');
  return reason ? null : lab;
};

test('mailboxes.db: entry states, and every entry as ctl_mboxlist -d [-y] and cyr_dbtool have it', () => {
  const l = ready('mailboxes.db');
  if (!l) return;
  const state = new Map(view.entries.map((e) => [e.name, entryState(e)]));
  for (const n of pop.live) assert.is(state.get(n), 'live', n);
  for (const n of pop.tombstones) assert.is(state.get(n), 'tombstone', n);
  for (const n of pop.intermediates) assert.is(state.get(n), 'intermediate', n);
  const deleted = view.entries.filter((e) => e.name.startsWith('DELETED.')).map((e) => e.name.replace(/\.[0-9A-F]{8}$/, ''));
  assert.equal(deleted.sort(), ['DELETED.user.alice.ToDelete', 'DELETED.user.dave']);
  checkMboxlist(l, view);
});

test('cyrus.index headers and records (expunged too) as mbexamine and unexpunge -l print them', () => {
  const l = ready('records');
  if (!l) return;
  checkRecords(l, view);
  const inbox = view.snapshots.get('user.alice')!;
  assert.equal(inbox.records.filter(isExpunged).map((r) => r.uid), [4], 'delayed expunge keeps uid 4');
  assert.ok(inbox.userFlags.includes('$Label1'), 'a cleared keyword keeps its slot');
});

test('IMAP STATUS and FETCH (flags, sizes, DIGEST.SHA1, modseqs, dates) agree with the snapshots', async () => {
  const l = ready('IMAP');
  if (!l) return;
  const checked = await checkImap(l, view);
  assert.ok(checked >= pop.live.length, `${checked} mailboxes checked over IMAP`);
});

test('seen state (owner and other user) and subscriptions vs cyr_dbtool copies, FETCH FLAGS and LIST (SUBSCRIBED)', async () => {
  const l = ready('seen and subscriptions');
  if (!l) return;
  const n = await checkSeenAndSubs(l, view, USERS);
  assert.equal(n, { seen: 1, subs: 14 }, 'bob\'s seen state in alice\'s folder; every subscription');
});

test('annotations.db and cyrus.annotations vs cyr_dbtool copies, GETMETADATA and FETCH ANNOTATION', async () => {
  const l = ready('annotations');
  if (!l) return;
  const n = await checkAnnotations(l, view, USERS);
  assert.equal(n, { mailbox: 6, message: 3 }, 'each stored annotation was seen over IMAP');
  const sent = view.snapshots.get('user.alice.Sent')!;
  // SPECIAL-USE is stored under the owner token; the reader translates it.
  assert.equal(sent.mailboxAnnotations.map((a) => [a.entry, a.userid, a.value.toString()]), [['/specialuse', 'alice', '\\Sent']]);
});

test('quota roots, limits and usage as the quota tool reports them', () => {
  const l = ready('quota');
  if (!l) return;
  assert.equal(checkQuota(l, view), ['user.alice', 'user.alice.Work Projects', 'user.carol']);
});

test('sieve: scripts are messages of user.alice.#sieve; the active one is \\Flagged', () => {
  const l = ready('sieve');
  if (!l) return;
  const s = view.snapshots.get(sieveMailboxName(view.cfg, 'alice'))!;
  assert.is(s.entry.mbtype.kind, 'sieve');
  const live = s.records.filter((r) => !isExpunged(r));
  assert.is(live.length, 2, 'main (rewritten) and vacation');
  assert.is(s.records.length - live.length, 1, 'the replaced script stays as an expunged record');
  const active = live.filter((r) => r.systemFlags & FLAG.FLAGGED);
  assert.is(active.length, 1);
  assert.match(fs.readFileSync(active[0]!.file ?? '', 'utf8'), /"reports"/);
});

test('SYNC_CRC / SYNC_CRC_ANNOT: reader = cyrus.index = replica after stock sync_client', async () => {
  const l = ready('sync CRCs');
  if (!l) return;
  const extra = [SHARED_MAILBOX, ...[...view.snapshots.keys()].filter((n) => n.startsWith('DELETED.user.dave.'))];
  const n = await checkCrcs(l, view, USERS, extra);
  assert.is(n, view.snapshots.size);
});

test('a reader run as root leaves nothing root-owned in the master trees', async () => {
  const l = ready('root-owned files');
  if (!l) return;
  // The tests above all read as root; one more pass of every reader entry point for good measure.
  const between = rootOwned(masterTrees(l));
  await readEverything(l, USERS);
  assert.equal(rootOwnedBefore, [], 'the harness left nothing root-owned');
  assert.equal(between, [], 'nothing root-owned after the tests\' reads');
  assert.equal(rootOwned(masterTrees(l)), [], 'nothing root-owned after a full reader pass');
});

test.run();
