/**
 * The master-state reader against a real Cyrus 3.6.1 master with
 * `virtdomains: userid`: the same localpart in two domains plus a user in
 * the default domain, cross-user seen state and subscriptions inside a
 * domain, quota, metadata, a delayed delete — checked with the same
 * oracles as real-master.test.ts (Cyrus tools, IMAP, the replica).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { entryState } from '../../src/cyrus/index.js';
import { CyrusLab } from '../../lab/cyrus-lab.js';
import { appendTo, createUser, deliver, imap, withImap } from '../../lab/lab-ops.js';
import { skip } from '../support/skip.js';
import { cyrusSkipReason } from '../support/cyrus.js';
import { checkCrcs } from './support/check-crcs.js';
import { checkImap } from './support/check-imap.js';
import { checkMboxlist, checkRecords } from './support/check-mailboxes.js';
import { checkAnnotations, checkQuota, checkSeenAndSubs } from './support/check-userdata.js';
import { UMLAUT } from './support/populate.js';
import { masterTrees, readerView, rootOwned } from './support/reader-view.js';

const reason = cyrusSkipReason();
const USERS = ['bob@example.org', 'alice@example.org', 'bob@other.test', 'zed'];

async function populate(lab: CyrusLab): Promise<void> {
  await createUser(lab, 'bob@example.org', ['Sent', 'Trash', UMLAUT]);
  await createUser(lab, 'alice@example.org', ['Shared']);
  await createUser(lab, 'bob@other.test', ['Sent']);
  await createUser(lab, 'zed', ['Drafts']);
  for (const [i, u] of USERS.entries()) await deliver(lab, u, 3, { start: i * 10 });
  await appendTo(lab, 'alice@example.org', 'Shared', 3);
  await appendTo(lab, 'bob@example.org', 'Trash', 1);
  await imap(
    lab.master,
    'alice@example.org',
    'SETACL "Shared" bob@example.org lrsw',
    'SELECT INBOX',
    'UID STORE 1 +FLAGS (\\Flagged $Domain)',
    'UID STORE 2 +FLAGS (\\Deleted)',
    'UID EXPUNGE 2',
    'SETMETADATA INBOX (/private/comment "alice private" /shared/comment "alice shared")',
  );
  await withImap(lab.master, 'bob@example.org', async (c) => {
    await c.command('SELECT "Other Users/alice/Shared"');
    await c.command('UID STORE 2:3 +FLAGS (\\Seen)');
    await c.command('SUBSCRIBE "Other Users/alice/Shared"');
    await c.command('SETMETADATA "Sent" (/private/specialuse "\\\\Sent")');
    await c.command('DELETE "Trash"');
  });
  await imap(lab.master, 'bob@other.test', 'SELECT INBOX', 'UID STORE 1:3 +FLAGS (\\Seen)');
  await imap(lab.master, null, 'SETQUOTA "user/bob@example.org" (STORAGE 5000 MESSAGE 50)', 'SETQUOTA "user/zed" (STORAGE 700)');
}

test('virtual domains: mailboxes.db, records, IMAP, seen, subscriptions, annotations, quota and CRCs', async () => {
  if (reason) return skip('virtual domains', reason);
  const lab = await CyrusLab.start({ virtdomains: true });
  try {
    await populate(lab);
    const view = await readerView(lab);
    const names = view.entries.map((e) => `${e.name}:${entryState(e)}`);
    for (const n of ['example.org!user.bob:live', 'other.test!user.bob:live', 'user.zed:live', 'example.org!user.bob.Trash:tombstone', `example.org!user.bob.${UMLAUT}:live`]) {
      assert.ok(names.includes(n), `${n} in ${names.join(' ')}`);
    }
    assert.ok(names.some((n) => /^example\.org!DELETED\.user\.bob\.Trash\.[0-9A-F]{8}:live$/.test(n)), 'delayed delete inside the domain');
    checkMboxlist(lab, view);
    checkRecords(lab, view);
    assert.ok((await checkImap(lab, view)) >= 8);
    assert.equal(await checkSeenAndSubs(lab, view, USERS), { seen: 1, subs: 7 });
    assert.equal(await checkAnnotations(lab, view, USERS), { mailbox: 3, message: 0 });
    assert.equal(checkQuota(lab, view, ['example.org', 'other.test', undefined]), ['example.org!user.bob', 'user.zed']);
    const deleted = [...view.snapshots.keys()].filter((n) => n.includes('DELETED.'));
    assert.is(await checkCrcs(lab, view, USERS, []), view.snapshots.size, `replicated, ${deleted.length} DELETED.* via -u`);
    assert.equal(rootOwned(masterTrees(lab)), [], 'nothing root-owned after the reads');
  } finally {
    await lab.destroy();
  }
});

test.run();
