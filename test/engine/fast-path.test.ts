import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import { crc32 } from 'node:zlib';
import { takeMailboxSnapshot } from '../../src/cyrus/snapshot.js';
import { CyrusLab } from '../../lab/cyrus-lab.js';
import { compareLab } from '../../lab/compare.js';
import { createUser, deliver, imap } from '../../lab/lab-ops.js';
import { skip } from '../support/skip.js';
import { cyrusSkipReason } from '../support/cyrus.js';
import { engineFor, type EngineUnderTest } from './support.js';

const reason = cyrusSkipReason();
let lab: CyrusLab | null = null;
let eut: EngineUnderTest | null = null;

test.before(async () => {
  if (reason) return;
  lab = await CyrusLab.start();
  eut = engineFor(lab);
  await createUser(lab, 'alice');
  await deliver(lab, 'alice', 2);
  const r = await eut.drain();
  if (r.failed.length) throw new Error(JSON.stringify(r.failed));
});
test.after(async () => {
  await eut?.engine.close();
  await lab?.destroy();
});

const realTest = (name: string, fn: () => Promise<void>) =>
  test(name, async () => {
    if (reason || !lab) return skip(name, reason ?? 'no lab');
    await fn();
  });

async function counters() {
  const session = await eut!.engine.connect();
  return { ...session.replica.connection.counters };
}

realTest('a steady-state APPEND costs one flight: APPLY MESSAGE and APPLY MAILBOX pipelined, no GET, no RESERVE', async () => {
  await deliver(lab!, 'alice', 1, { start: 10 }); // warms the cache for INBOX
  await eut!.drain();
  await new Promise((r) => setTimeout(r, 1200)); // let the idle RESTART go out
  const before = await counters();
  await deliver(lab!, 'alice', 1, { start: 11 });
  await eut!.drain();
  const after = await counters();
  assert.is(after.commands - before.commands, 2, 'APPLY MESSAGE + APPLY MAILBOX');
  assert.is(after.flights - before.flights, 1, 'one round trip');
  assert.equal((await compareLab(lab!, ['alice'])).differences, []);
});

realTest('a cache entry made stale by hand is detected (SINCE_MODSEQ) and repaired', async () => {
  const cache = eut!.engine.cache!;
  const entry = cache.get('user.alice')!;
  cache.applied({ ...entry, highestModseq: entry.highestModseq - 1n, syncCrc: 12345 });
  await deliver(lab!, 'alice', 1, { start: 20 });
  const r = await eut!.drain();
  assert.equal(r.failed, []);
  assert.equal((await compareLab(lab!, ['alice'])).differences, []);
  const fresh = eut!.engine.cache!.get('user.alice')!;
  assert.is.not(fresh.syncCrc, 12345);
});

// Another client replicated in between (stock before a switch, or a second engine): the cached
// state is behind the replica's. The retry is stock's first attempt against the replica's state,
// a delta with SINCE_*, not a whole-mailbox APPLY from the full index.
realTest('a cache left behind by another client costs one scoped retry, not a full mailbox read', async () => {
  const sent: string[] = [];
  const traced = engineFor(lab!, { engine: { trace: (d, line) => { if (d === '>') sent.push(line); } } });
  try {
    await deliver(lab!, 'alice', 1, { start: 200 });
    assert.equal((await traced.drain()).failed, []); // traced's cache now knows INBOX
    await deliver(lab!, 'alice', 1, { start: 201 });
    assert.equal((await eut!.drain()).failed, []); // the replica moves on without traced
    await deliver(lab!, 'alice', 1, { start: 202 });
    sent.length = 0;
    assert.equal((await traced.drain()).failed, []);
    const applies = sent.filter((l) => l.startsWith('APPLY MAILBOX'));
    assert.ok(sent.some((l) => l.startsWith('GET MAILBOXES')), `the stale state was refreshed:\n${sent.join('\n')}`);
    assert.is(applies.length, 2, sent.join('\n'));
    assert.ok(applies.every((l) => l.includes('SINCE_MODSEQ')), `both APPLYs are deltas:\n${applies.join('\n')}`);
    assert.not.ok(traced.logs.some((l) => /recalculating/.test(l)), traced.logs.join('\n'));
    assert.equal((await compareLab(lab!, ['alice'])).differences, []);
  } finally {
    await traced.engine.close();
  }
});

// The replica's delayed delete renames alice's folders to DELETED.* (bumping their modseqs); the
// resync renames them back by uniqueid, and where the replica is now ahead of the master only a
// copyback can reconcile, which syncmux hands to Cyrus's own sync_client.
realTest('a replica user deleted behind our back is restored by a user resync', async () => {
  await imap(lab!.replica, null, 'SETACL "user/alice" admin lrswipkxtecda', 'DELETE "user/alice"');
  const outcome = await eut!.engine.replicate({ key: 'alice', lines: [{ type: 'USER', args: ['alice'] }], retry: true });
  assert.ok(outcome.ok, JSON.stringify(outcome));
  assert.ok(eut!.logs.some((l) => /RENAME DELETED\.user\.alice\.\w+ -> user\.alice/.test(l)), eut!.logs.join('\n'));
  assert.not.ok(eut!.logs.some((l) => /SYNCERROR|IOERROR/.test(l)), eut!.logs.join('\n'));
  assert.equal((await compareLab(lab!, ['alice'])).differences, []);
  await deliver(lab!, 'alice', 1, { start: 30 });
  assert.equal((await eut!.drain()).failed, []);
  assert.equal((await compareLab(lab!, ['alice'])).differences, []);
});

realTest('a message whose upload fails leaves the replica consistent, and the next pass repairs it', async () => {
  await deliver(lab!, 'alice', 1, { start: 40 });
  const handle = await takeMailboxSnapshot(eut!.engine.config, 'user.alice');
  const records = handle.snapshot.records;
  handle.release();
  const newest = records[records.length - 1]!.file!;
  fs.renameSync(newest, `${newest}.away`);
  const failed = await eut!.drain();

  assert.ok(failed.failed.length > 0, 'the pass reports the failure');
  assert.ok(eut!.engine.uploads.mayPipeline(), 'our own failed upload is no reason to stop the one-flight path');
  const diff = await compareLab(lab!, ['alice']);
  assert.ok(diff.differences.every((d) => d.includes('mailbox INBOX')), diff.differences.join('\n'));
  fs.renameSync(`${newest}.away`, newest);
  assert.equal((await eut!.drain()).failed, []);
  assert.equal((await compareLab(lab!, ['alice'])).differences, []);
});

/** Drains through a fresh engine without a sync cache, returning the commands it sent. */
async function drainTraced(extraConf: string[] = []): Promise<string[]> {
  const file = lab!.master.paths.imapdConf;
  const original = fs.readFileSync(file, 'utf8');
  fs.writeFileSync(file, [original.trimEnd(), ...extraConf, ''].join('\n'));
  const sent: string[] = [];
  const other = engineFor(lab!, { engine: { noCache: true, trace: (d, line) => { if (d === '>') sent.push(line); } } });
  try {
    const r = await other.drain();
    assert.equal(r.failed, []);
  } finally {
    await other.engine.close();
    fs.writeFileSync(file, original);
  }
  return sent;
}

realTest('without a cache entry, a few small new messages are sent without asking APPLY RESERVE', async () => {
  await deliver(lab!, 'alice', 3, { start: 60 });
  const sent = await drainTraced();
  assert.ok(sent.some((l) => l.startsWith('GET MAILBOXES')), 'no cache: the state is read first');
  assert.not.ok(sent.some((l) => l.startsWith('APPLY RESERVE')), sent.join('\n'));
  assert.ok(sent.some((l) => l.startsWith('APPLY MESSAGE')));
  assert.equal((await compareLab(lab!, ['alice'])).differences, []);
});

realTest('a bulk copy of small messages still asks APPLY RESERVE, and uploads nothing the replica holds', async () => {
  await deliver(lab!, 'alice', 40, { start: 100 });
  await eut!.drain();
  await imap(lab!.master, 'alice', 'CREATE Archive');
  await imap(lab!.master, 'alice', 'SELECT INBOX', 'COPY 1:* Archive');
  // 2000-byte threshold: each message is small, but 40 of them exceed 16 x 2000 bytes in all.
  const sent = await drainTraced(['syncmux_reserve_threshold: 2000']);
  assert.ok(sent.some((l) => l.startsWith('APPLY RESERVE')), sent.join('\n'));
  assert.not.ok(sent.some((l) => l.startsWith('APPLY MESSAGE')), 'every GUID was already on the replica');
  assert.equal((await compareLab(lab!, ['alice'])).differences, []);
});

// Stock sends the SYNC_CRCs Cyrus keeps in the index header; so do we, since recomputing them
// cost a large mailbox a full decode per APPEND. Should the stored value be wrong, the replica
// answers CHECKSUM and the retry recomputes them from the records.
realTest('a wrong SYNC_CRC stored in the master index costs one retry, not a failure', async () => {
  await createUser(lab!, 'carol');
  await deliver(lab!, 'carol', 2);
  assert.equal((await eut!.drain()).failed, []);
  const handle = await takeMailboxSnapshot(eut!.engine.config, 'user.carol');
  const { index: indexFile } = handle.snapshot.paths;
  const headerLength = handle.snapshot.index.headerLength;
  handle.release();
  // Stands in for a damaged master: flip the stored basic CRC and re-seal the header.
  const fd = fs.openSync(indexFile, 'r+');
  try {
    const header = Buffer.alloc(headerLength);
    fs.readSync(fd, header, 0, headerLength, 0);
    header.writeUInt32BE((header.readUInt32BE(100) ^ 0x5a5a5a5a) >>> 0, 100);
    header.writeUInt32BE(crc32(header.subarray(0, headerLength - 4)), headerLength - 4);
    fs.writeSync(fd, header, 0, headerLength, 0);
  } finally {
    fs.closeSync(fd);
  }
  await deliver(lab!, 'carol', 1, { start: 5 }); // Cyrus updates the stored value incrementally: still wrong
  const logsBefore = eut!.logs.length;
  assert.equal((await eut!.drain()).failed, []);
  const logs = eut!.logs.slice(logsBefore);
  assert.ok(logs.some((l) => /user\.carol: IMAP_SYNC_CHECKSUM, recalculating/.test(l)), logs.join('\n'));
  assert.equal((await compareLab(lab!, ['carol'])).differences, []);
});

test.run();
