/**
 * Benchmarks of the read-only master state reader (src/cyrus): twoskip
 * decoding, cyrus.index record decoding, sync CRC recomputation and
 * mailboxes.db value decoding. The twoskip file comes from the installed
 * cyr_dbtool when it can run, else from the test generator.
 * Real-master rows read a tree a harness Cyrus built over IMAP, cached in
 * .bench-cache/ (test/cyrus/support/bench-master.ts); without root and
 * Cyrus they print why they were skipped. RSS is measured in a child
 * process so earlier rows don't blur it.
 * Run alone: node --import tsx bench/cyrus.bench.ts
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { loadConfig } from '../src/cyrus/config.js';
import { isExpunged } from '../src/cyrus/index-file.js';
import { Mboxlist } from '../src/cyrus/mboxlist.js';
import { mailboxMetaFile } from '../src/cyrus/paths.js';
import { takeMailboxSnapshot, type MailboxSnapshot } from '../src/cyrus/snapshot.js';
import { DbMemos } from '../src/cyrus/cyrusdb/read-memo.js';
import { ContentMemo } from '../src/cyrus/content-memo.js';
import type { MailboxHeader } from '../src/cyrus/header.js';
import { cyrusUnavailableReason } from '../lab/install.js';
import { ensureBenchMaster } from '../test/cyrus/support/bench-master.js';
import { decodeDb } from '../src/cyrus/cyrusdb/open.js';
import { TwoskipSeeker } from '../src/cyrus/cyrusdb/twoskip-seek.js';
import { decodeIndex } from '../src/cyrus/index-file.js';
import { decodeMbEntry } from '../src/cyrus/mboxlist.js';
import { computeSyncCrcs } from '../src/cyrus/synccrc.js';
import { CyrusEnv, cyrusUnavailable, type BatchOp } from '../test/cyrus/support/cyrus-env.js';
import { encodeIndex, type RecordFields } from '../test/cyrus/support/index-writer.js';
import { buildTwoskip } from '../test/cyrus/support/twoskip-writer.js';

type Row = Record<string, string | number>;

/** Runs fn until ~minMs have passed; returns operations per second of `units` per call. */
function rate(units: number, fn: () => void, minMs = 400): { perSec: number; calls: number } {
  fn();
  let calls = 0;
  const start = process.hrtime.bigint();
  let elapsed = 0;
  while (elapsed < minMs) {
    fn();
    calls++;
    elapsed = Number(process.hrtime.bigint() - start) / 1e6;
  }
  return { perSec: (units * calls * 1000) / elapsed, calls };
}

function twoskipImage(n: number): { image: Buffer; source: string } {
  const kv = (i: number): [string, string] => [`user.u${String(i).padStart(6, '0')}\x1fINBOX`, `%(T e I ${i.toString(16).padStart(8, '0')}-1111-2222-3333-444455556666 P default V 1700000000 C 1 F ${i} M 1700000000 A %(u${i} lrswipkxtecdan))`];
  if (!cyrusUnavailable()) {
    const env = CyrusEnv.create();
    try {
      const file = path.join(env.dir, 'bench.db');
      const ops: BatchOp[] = [];
      for (let i = 0; i < n; i++) ops.push(['SET', ...kv(i)]);
      env.dbtool(file, 'twoskip', ops);
      return { image: fs.readFileSync(file), source: 'cyr_dbtool' };
    } finally {
      env.cleanup();
    }
  }
  return { image: buildTwoskip(Array.from({ length: n }, (_, i) => kv(i))), source: 'generator' };
}

function indexImage(n: number): Buffer {
  const records: RecordFields[] = [];
  for (let i = 1; i <= n; i++) {
    records.push({
      uid: i,
      internaldate: 1700000000 + i,
      sentdate: 1700000000,
      size: 2000 + (i % 500),
      headerSize: 600,
      lastUpdated: 1700000000 + i,
      systemFlags: i % 3 === 0 ? 0x10 : 0,
      internalFlags: i % 50 === 0 ? 2 ** 31 : 0,
      userFlags: [i % 7 === 0 ? 1 : 0, 0, 0, 0],
      savedate: 1700000000 + i,
      cacheVersion: 11,
      guid: (i * 2654435761).toString(16).padStart(40, '0').slice(-40),
      modseq: BigInt(i + 10),
      cid: BigInt(i) * 0x9e3779b97f4a7c15n & 0xffffffffffffffffn,
      createdmodseq: BigInt(i + 10),
    });
  }
  return encodeIndex(17, { exists: n, lastUid: n, highestmodseq: BigInt(n + 10) }, records);
}

export async function benchCyrus(): Promise<Row[]> {
  const rows: Row[] = [];

  const KEYS = 10_000;
  const { image, source } = twoskipImage(KEYS);
  const ts = rate(KEYS, () => {
    let n = 0;
    for (const e of decodeDb(image).entries()) n += e.key.length;
    if (n === 0) throw new Error('empty');
  });
  rows.push({ bench: 'twoskip decode+iterate', keys: KEYS, source, bytes: image.length, 'entries/s': Math.round(ts.perSec) });

  const db = decodeDb(image);
  const keys = [...db.entries()].map((e) => e.key);
  const lookups = rate(keys.length, () => {
    for (const k of keys) if (!db.get(k)) throw new Error('missing');
  });
  rows.push({ bench: 'twoskip snapshot get()', keys: KEYS, source, 'lookups/s': Math.round(lookups.perSec) });

  const seeker = new TwoskipSeeker((off, len) => image.subarray(off, off + len), image.length);
  const sample = keys.filter((_, i) => i % 10 === 0);
  const seeks = rate(sample.length, () => {
    for (const k of sample) if (!seeker.get(k)) throw new Error('missing');
  });
  rows.push({ bench: 'twoskip seeker get() (positioned reads, no full decode)', keys: KEYS, source, 'lookups/s': Math.round(seeks.perSec) });

  const ctx = { deletedPrefix: 'DELETED', defaultDomain: null };
  const entries = [...db.entries()];
  const mb = rate(entries.length, () => {
    for (const e of entries) decodeMbEntry(e.key.toString('latin1'), e.value, ctx);
  });
  rows.push({ bench: 'mailboxes.db N value decode', entries: entries.length, 'entries/s': Math.round(mb.perSec) });

  const RECORDS = 50_000;
  const index = indexImage(RECORDS);
  const ix = rate(RECORDS, () => {
    if (decodeIndex(index).records.length !== RECORDS) throw new Error('count');
  });
  rows.push({ bench: 'cyrus.index v17 decode (CRC-checked)', records: RECORDS, bytes: index.length, 'records/s': Math.round(ix.perSec) });

  const decoded = decodeIndex(index).records;
  const crc = rate(RECORDS, () => {
    computeSyncCrcs(decoded, ['$Label1'], 17);
  });
  rows.push({ bench: 'SYNC_CRC + SYNC_CRC_ANNOT recompute', records: RECORDS, 'records/s': Math.round(crc.perSec) });

  rows.push(...(await benchRealMaster()));
  return rows;
}

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const REAL = 'real master';

/** Rows over the cached harness-built master; one "skipped" row when it can't be had. */
async function benchRealMaster(): Promise<Row[]> {
  const cache = path.join(repoRoot, '.bench-cache');
  let conf: string;
  try {
    // Also with a cache: its files are private to the cyrus user.
    const why = cyrusUnavailableReason();
    if (why) throw new Error(why);
    conf = (await ensureBenchMaster(cache)).imapdConf;
  } catch (e) {
    return [{ bench: `${REAL}: all rows`, skipped: (e as Error).message }];
  }
  const cfg = loadConfig(conf);
  const rows: Row[] = [];

  const ml = await Mboxlist.open(cfg);
  const total = [...ml.entries()].length;
  const mbPerSec = await rateAsync(total, async () => {
    let n = 0;
    for (const e of (await Mboxlist.open(cfg)).entries()) n += e.uidvalidity > 0 ? 1 : 0;
    if (n === 0) throw new Error('empty');
  });
  rows.push({ bench: `${REAL}: mailboxes.db open + decode every entry`, entries: total, bytes: fs.statSync(`${cfg.configDirectory}/mailboxes.db`).size, 'entries/s': Math.round(mbPerSec) });
  const names = [...ml.entries()].filter((_, i) => i % 50 === 0).map((e) => e.name);
  const lookedPerSec = await rateAsync(names.length, () =>
    Mboxlist.query(cfg, (l) => {
      for (const n of names) if (!l.lookup(n)) throw new Error(`missing ${n}`);
    }),
  );
  rows.push({ bench: `${REAL}: mailboxes.db locked point lookups (twoskip seeks)`, entries: total, 'lookups/s': Math.round(lookedPerSec) });

  const snap = async (): Promise<MailboxSnapshot> => {
    const h = await takeMailboxSnapshot(cfg, 'user.big');
    h.release();
    return h.snapshot;
  };
  const big = await snap();
  const count = big.records.length;
  const indexBytes = fs.statSync(mailboxMetaFile(cfg, big.location, 'index')).size;
  const snapRate = await rateAsync(count, async () => (await snap()).records);
  rows.push({ bench: `${REAL}: snapshot of a ${count}-record INBOX (locks, read, decode, paths)`, records: count, expunged: big.records.filter(isExpunged).length, bytes: indexBytes, 'records/s': Math.round(snapRate) });
  // What a steady-state APPEND reads: the records after the replica's state, and the stored CRCs;
  // first from the whole index image, then as a pass does it, reading only those records (scope).
  // With the memos a running client keeps (mailboxes.db and annotations.db reads, cyrus.header decodes).
  const memos = { memos: new DbMemos(), headers: new ContentMemo<MailboxHeader>() };
  const appendRead = async (scoped: boolean) => rateAsync(1, async () => {
    const scope = { modseq: big.index.highestmodseq - 1n, uid: big.index.lastUid - 1 };
    const h = await takeMailboxSnapshot(cfg, 'user.big', scoped ? { ...memos, scope } : memos);
    h.release();
    const s = h.snapshot;
    const newest = s.recordsModifiedSince(scope.modseq);
    const uploads = s.recordsAboveUid(scope.uid);
    if (newest.length !== 1 || uploads.length !== 1 || !s.index.syncCrcAnnot) throw new Error('unexpected INBOX shape');
  });
  rows.push({ bench: `${REAL}: steady-state APPEND read of that INBOX, whole index read (locks, read, newest record, stored CRCs)`, records: count, 'appends/s': Math.round(await appendRead(false)) });
  rows.push({ bench: `${REAL}: steady-state APPEND read of that INBOX, changed records only (as a pass reads it)`, records: count, 'appends/s': Math.round(await appendRead(true)) });

  // Two users with different body sizes: heap per record should match, bodies per record not.
  for (const user of ['snap', 'big']) {
    const child = spawnSync(process.execPath, ['--expose-gc', '--import', 'tsx', fileURLToPath(import.meta.url), '--snapshot-user', conf, user], { encoding: 'utf8', cwd: repoRoot });
    const last = (child.status === 0 ? child.stdout : child.stderr).trim().split('\n').pop() ?? '';
    rows.push(child.status === 0 ? (JSON.parse(last) as Row) : { bench: `${REAL}: snapshot user.${user}`, skipped: `child failed: ${last}` });
  }
  return rows;
}

async function rateAsync(units: number, fn: () => Promise<unknown>, minMs = 400): Promise<number> {
  await fn();
  let calls = 0;
  const start = process.hrtime.bigint();
  let elapsed = 0;
  while (elapsed < minMs) {
    await fn();
    calls++;
    elapsed = Number(process.hrtime.bigint() - start) / 1e6;
  }
  return (units * calls * 1000) / elapsed;
}

/**
 * Child mode: snapshots every mailbox of one user and keeps them all, then
 * reports wall time and the RSS / heap growth next to the bytes of message
 * bodies those records describe (which a snapshot must never read).
 */
async function snapshotUser(conf: string, user: string): Promise<Row> {
  const cfg = loadConfig(conf);
  const names = await Mboxlist.query(cfg, (l) => [...l.userTree(user, {})].map((e) => e.name)) ?? [];
  const warm = await takeMailboxSnapshot(cfg, names[0] ?? '');
  warm.release();
  globalThis.gc?.();
  const before = process.memoryUsage();
  const t0 = process.hrtime.bigint();
  const kept: MailboxSnapshot[] = [];
  for (const n of names) {
    const h = await takeMailboxSnapshot(cfg, n);
    h.release();
    void h.snapshot.records; // decoded on first use
    kept.push(h.snapshot);
  }
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  globalThis.gc?.();
  const after = process.memoryUsage();
  const records = kept.reduce((n, s) => n + s.records.length, 0);
  const bodies = kept.reduce((n, s) => n + s.records.reduce((m, r) => m + r.size, 0), 0);
  const mib = (b: number): number => Math.round((b / 2 ** 20) * 10) / 10;
  return {
    bench: `${REAL}: snapshot user.${user} (every mailbox, kept in memory)`,
    mailboxes: names.length,
    records,
    ms: Math.round(ms),
    'records/s': Math.round((records * 1000) / ms),
    'RSS delta MiB': mib(after.rss - before.rss),
    'heap delta MiB': mib(after.heapUsed - before.heapUsed),
    'bytes/record (heap)': Math.round((after.heapUsed - before.heapUsed) / Math.max(records, 1)),
    'bodies MiB (not read)': mib(bodies),
    'body bytes/record': Math.round(bodies / Math.max(records, 1)),
  };
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  if (process.argv[2] === '--snapshot-user') {
    console.log(JSON.stringify(await snapshotUser(process.argv[3] ?? '', process.argv[4] ?? '')));
  } else {
    for (const row of await benchCyrus()) console.log(JSON.stringify(row));
  }
}
