/**
 * SYNC_CRC and SYNC_CRC_ANNOT three ways: recomputed by the reader from the
 * snapshot's records and annotations, as Cyrus stored them in cyrus.index,
 * and as the replica reports them (GET MAILBOXES over csync) after stock
 * sync_client replicated the same mailboxes. If the reader's formula were
 * off, the first pair would disagree; if replication relied on state the
 * reader can't see, the last one would.
 */
import * as assert from 'uvu/assert';
import { computeSyncCrcs, type MailboxSnapshot } from '../../../src/cyrus/index.js';
import { SYNC_USER, type CyrusLab } from '../../../lab/cyrus-lab.js';
import { SyncConnection } from '../../../src/protocol/connection.js';
import { ReplicaClient } from '../../../src/protocol/replica-client.js';
import { Secret } from '../../../src/cyrus/secret.js';
import { adminName } from './ext-names.js';
import type { ReaderView } from './reader-view.js';

export function readerCrcs(s: MailboxSnapshot): { basic: number; annot: number } {
  return computeSyncCrcs(s.records, s.userFlags, s.index.minorVersion, (uid) =>
    (s.messageAnnotations.get(uid) ?? []).map((a) => ({ entry: a.entry, userid: a.userid, value: a.value })),
  );
}

/** Stock `sync_client -u <users>` and `-m <mailboxes>`, then the replica's CRCs for every snapshot in `names`. */
export async function checkCrcs(lab: CyrusLab, view: ReaderView, users: readonly string[], extraMailboxes: readonly string[]): Promise<number> {
  for (const [name, s] of view.snapshots) {
    const c = readerCrcs(s);
    assert.equal(c, { basic: s.index.syncCrcBasic, annot: s.index.syncCrcAnnot }, `${name} reader CRCs = cyrus.index`);
  }
  const byUser = lab.stockSyncClient(['-u', ...users]);
  assert.is(byUser.status, 0, byUser.stderr);
  if (extraMailboxes.length) {
    // -m takes external names (it turned "DELETED.user.x" into "DELETED^user^x").
    const byName = lab.stockSyncClient(['-m', ...extraMailboxes.map(adminName)]);
    assert.is(byName.status, 0, byName.stderr);
  }
  const conn = await SyncConnection.connect({
    host: '127.0.0.1', port: lab.replica.ports.sync!, authname: SYNC_USER.user, password: new Secret(SYNC_USER.password), tryImap: false,
    requireTls: false, tls: {}, compress: false, connectTimeoutMs: 5000, replyTimeoutMs: 30_000,
  });
  try {
    const names = [...view.snapshots.keys()];
    const replica = new ReplicaClient(conn);
    // Without it sync_server leaves #sieve mailboxes out of GET MAILBOXES.
    await replica.applyCapabilities(['SIEVE-MAILBOX']);
    const got = new Map((await replica.getMailboxes(names)).map((i) => [i.value.get('MBOXNAME')?.asString(), i.value]));
    assert.equal([...got.keys()].sort(), [...names].sort(), 'every snapshot mailbox is on the replica');
    for (const name of names) {
      const r = got.get(name)!;
      const c = readerCrcs(view.snapshots.get(name)!);
      assert.equal({ basic: r.get('SYNC_CRC')?.asNumber(), annot: r.get('SYNC_CRC_ANNOT')?.asNumber() }, c, `${name} replica CRCs`);
    }
    return names.length;
  } finally {
    await conn.close();
  }
}
