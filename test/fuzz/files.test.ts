// The file-level readers over mutated files on disk, through the same
// shared-lock paths production uses (whole reads, positioned seekers, the
// locked mailbox snapshot of a real Cyrus mailbox): typed errors naming the
// file, and nothing written: the file, its mtime and its directory stay
// exactly as they were. Seeded like readers.test.ts (FUZZ_SEED).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { messageAnnotations } from '../../src/cyrus/annotations.js';
import { readRaclModseq } from '../../src/cyrus/counters.js';
import { folderThreadModseq } from '../../src/cyrus/conversations.js';
import { queryDb, tryOpenDbAsync } from '../../src/cyrus/cyrusdb/open.js';
import { CyrusFileError } from '../../src/cyrus/file-error.js';
import { LockError } from '../../src/cyrus/lock.js';
import { mailboxMetaFile } from '../../src/cyrus/paths.js';
import { decodeSeenDb } from '../../src/cyrus/seen.js';
import { MailboxUnavailableError, takeMailboxSnapshot } from '../../src/cyrus/snapshot.js';
import { decodeSubscriptions } from '../../src/cyrus/subs.js';
import type { PathConfig } from '../../src/cyrus/paths.js';
import type { NameContext } from '../../src/cyrus/names.js';
import { skip } from '../support/skip.js';
import { CyrusEnv, cyrusUnavailable } from '../cyrus/support/cyrus-env.js';
import { createMailboxes } from '../cyrus/support/mailbox-fixture.js';
import { describeError } from './support/check.js';
import { repairIndex, repairTwoskip } from './support/crc-repair.js';
import { mutatedInputs } from './support/mutate.js';
import { fuzzRuns, fuzzSeed } from './support/settings.js';

const seed = fuzzSeed();
const runs = Math.max(1, Math.floor(fuzzRuns(2000) / 5));
console.log(`fuzz seed ${seed} (FUZZ_SEED), ${runs} files per reader`);
const fixture = (name: string): Buffer => fs.readFileSync(path.join(path.dirname(new URL(import.meta.url).pathname), 'fixtures', name));
const NO_RETRY = { busyRetries: 0, timeoutMs: 1000 };
const CTX = { deletedPrefix: 'DELETED', defaultDomain: null } as unknown as PathConfig & NameContext;

/** What must not change: content, size, inode, mtime of the file, and its directory's entries. */
function stateOf(file: string): string {
  const st = fs.statSync(file, { bigint: true });
  return `${fs.readFileSync(file).toString('base64')}|${st.ino}|${st.size}|${st.mtimeNs}|${fs.readdirSync(path.dirname(file)).sort().join(',')}`;
}

/** Writes each mutated image to `file`, runs `read`, and holds it to typed, path-naming errors and no writes. */
async function fuzzFile(file: string, seeds: Buffer[], read: (file: string) => unknown, fix?: (b: Buffer) => void, extraAllowed: Array<abstract new (...a: never[]) => Error> = []): Promise<number> {
  let rejected = 0;
  await fc.assert(
    fc.asyncProperty(mutatedInputs(seeds, fix), async ({ bytes }) => {
      fs.writeFileSync(file, bytes);
      fs.chmodSync(file, 0o444);
      const before = stateOf(file);
      try {
        await read(file);
      } catch (e) {
        const typed = e instanceof CyrusFileError || extraAllowed.some((c) => e instanceof c);
        if (!typed) throw new Error(`untyped ${describeError(e)}`);
        if (e instanceof CyrusFileError && e.path !== file) throw new Error(`error names ${JSON.stringify(e.path)}, not the file: ${e.message}`);
        const cause = e instanceof Error ? e.cause : undefined;
        if (cause instanceof RangeError || cause instanceof TypeError) throw new Error(`converted ${describeError(cause)}`);
        rejected++;
      } finally {
        assert.is(stateOf(file), before, 'the reader changed the file or its directory');
        fs.rmSync(file);
      }
    }),
    { numRuns: runs, seed },
  );
  return rejected;
}

async function inTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'syncmux-fuzz-files-'));
  try {
    await fn(dir);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const dbs = [fixture('mailboxes.twoskip'), fixture('mailboxes.skiplist'), fixture('mailboxes.flat'), fixture('seen.twoskip'), fixture('seen.skiplist')];

test('cyrusdb files: whole reads, positioned lookups and scans under the lock', async () => {
  await inTempDir(async (dir) => {
    const rejected = await fuzzFile(path.join(dir, 'mailboxes.db'), dbs, async (f) => {
      await tryOpenDbAsync(f, NO_RETRY);
      await queryDb(f, (db) => db.get('Nuser\x1ftom'), NO_RETRY);
      await queryDb(f, (db) => [...db.entries('N')], NO_RETRY);
    }, repairTwoskip);
    console.log(`  cyrusdb: ${runs} files, ${rejected} rejected`);
  });
});

test('per-user files: seen, subscriptions, annotations, counters, conversations', async () => {
  await inTempDir(async (dir) => {
    const seen = await fuzzFile(path.join(dir, 'tom.seen'), [fixture('seen.twoskip'), fixture('seen.skiplist')], async (f) => { const db = await tryOpenDbAsync(f, NO_RETRY); return db && decodeSeenDb(db); }, repairTwoskip); // readSeenFile's reads
    const subs = await fuzzFile(path.join(dir, 'tom.sub'), [fixture('subs.flat')], async (f) => { const db = await tryOpenDbAsync(f, NO_RETRY); return db && decodeSubscriptions(db, 'tom', CTX); });
    const annots = await fuzzFile(path.join(dir, 'cyrus.annotations'), [fixture('cyrus.annotations'), fixture('annotations.twoskip')], async (f) => {
      const db = await tryOpenDbAsync(f, NO_RETRY);
      if (db) messageAnnotations(db, { owner: 'tom' });
    }, repairTwoskip);
    const counters = await fuzzFile(path.join(dir, 'tom.counters'), [Buffer.alloc(104, 1)], (f) => readRaclModseq(f));
    const convs = await fuzzFile(path.join(dir, 'tom.conversations'), [fixture('seen.skiplist'), fixture('mailboxes.skiplist')], (f) =>
      queryDb(f, (db) => folderThreadModseq(db, { uniqueid: 'af01aaaa-1111-2222-3333-444455556666', name: 'user.tom' }), NO_RETRY),
    );
    console.log(`  rejected: seen ${seen}, subs ${subs}, annotations ${annots}, counters ${counters}, conversations ${convs} of ${runs} each`);
  });
});

test('mailbox snapshots of a real Cyrus mailbox with a mutated cyrus.index or cyrus.header', async () => {
  const why = cyrusUnavailable();
  if (why) return skip('snapshots with mutated files', why);
  const env = CyrusEnv.create();
  try {
    const { cfg, locations } = createMailboxes(env, [{ name: 'user.tom', uniqueid: '3f2a9c1e-1111-2222-3333-444455556666', count: 3 }]);
    const loc = locations.get('user.tom')!;
    const snapshot = async (): Promise<void> => {
      const { snapshot: s, release } = await takeMailboxSnapshot(cfg, 'user.tom', { timeoutMs: 1000 });
      try {
        void s.records;
        s.recordsAboveUid(1);
        s.recordsModifiedSince(1n);
      } finally {
        release();
      }
    };
    for (const which of ['index', 'header'] as const) {
      const file = mailboxMetaFile(cfg, loc, which);
      const original = fs.readFileSync(file);
      const stat = fs.statSync(file);
      const rejected = await fuzzFile(file, [original], snapshot, which === 'index' ? repairIndex : undefined, [MailboxUnavailableError, LockError]);
      fs.writeFileSync(file, original);
      fs.chownSync(file, stat.uid, stat.gid);
      console.log(`  cyrus.${which}: ${runs} snapshots, ${rejected} rejected`);
    }
    await snapshot();
  } finally {
    env.cleanup();
  }
});

test.run();
