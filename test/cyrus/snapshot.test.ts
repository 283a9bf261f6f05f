import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { CyrusConfig } from '../../src/cyrus/config.js';
import { CyrusFileError } from '../../src/cyrus/file-error.js';
import { isExpunged } from '../../src/cyrus/index-file.js';
import { LockError } from '../../src/cyrus/lock.js';
import { lockFile, mailboxLockName, mailboxMetaFile, userNamespaceLockName, type MailboxLocation } from '../../src/cyrus/paths.js';
import { MailboxUnavailableError, takeMailboxSnapshot } from '../../src/cyrus/snapshot.js';

/** What a promise rejected with, or null if it resolved. */
const rejection = (p: Promise<unknown>): Promise<unknown> => p.then(() => null, (e: unknown) => e);
import { LockFile } from '../../src/native/index.js';
import { skip } from '../support/skip.js';
import { CYRUS_BIN, CYRUS_TOOL_ENV, cyrusUnavailable, CyrusEnv } from './support/cyrus-env.js';
import { createMailboxes } from './support/mailbox-fixture.js';

interface Fixture {
  env: CyrusEnv;
  cfg: CyrusConfig;
  loc: MailboxLocation;
}

/** One Cyrus fixture per test (tests mutate it); null + skip() when Cyrus is unavailable. */
function fixture(name: string): Fixture | null {
  const why = cyrusUnavailable();
  if (why) {
    skip(name, why);
    return null;
  }
  const env = CyrusEnv.create();
  const common = { partition: 'default', uidvalidity: '1', createdmodseq: '1', foldermodseq: '1' };
  env.undump({
    'user.tom.Gone': { ...common, uniqueid: '9f2a9c1e-1111-2222-3333-444455556666', mbtype: 'ed' },
    'user.tom.Mid': { ...common, uniqueid: '8f2a9c1e-1111-2222-3333-444455556666', mbtype: 'ei' },
  });
  const { cfg, locations } = createMailboxes(env, [{ name: 'user.tom', uniqueid: '3f2a9c1e-1111-2222-3333-444455556666', count: 4 }]);
  const loc = locations.get('user.tom');
  if (!loc) throw new Error('no fixture');
  return { env, cfg, loc };
}

const isErr = (cls: abstract new (...a: never[]) => Error, re?: RegExp) => (e: unknown): boolean => e instanceof cls && (!re || re.test((e as Error).message));

test('snapshot of a reconstructed mailbox', async () => {
  const f = fixture('snapshot of a reconstructed mailbox');
  if (!f) return;
  try {
    f.env.must('ipurge', ['-f', '-b', '150', 'user.tom']);
    const { snapshot: s, release } = await takeMailboxSnapshot(f.cfg, 'user.tom');
    release();
    assert.is(s.name, 'user.tom');
    assert.is(s.owner, 'tom');
    assert.is(s.uniqueid, '3f2a9c1e-1111-2222-3333-444455556666');
    assert.is(s.entry.partition, 'default');
    assert.is(s.index.minorVersion, 17);
    assert.is(s.index.numRecords, 4);
    assert.equal(
      s.records.map((r) => r.uid),
      [1, 2, 3, 4],
    );
    assert.ok(s.records.some(isExpunged));
    for (const r of s.records) {
      assert.ok(r.file, `uid ${r.uid} has a file`);
      assert.is(fs.statSync(r.file ?? '').size, r.size, `uid ${r.uid} size`);
    }
    assert.is(s.headerCrcMismatch, false);
    assert.equal(s.mailboxAnnotations, []);
    assert.is(s.paths.index, mailboxMetaFile(f.cfg, f.loc, 'index'));
    assert.ok(Object.isFrozen(s) && Object.isFrozen(s.records[0]));
  } finally {
    f.env.cleanup();
  }
});

test('entries without files are unavailable, never opened', async () => {
  const f = fixture('entries without files are unavailable');
  if (!f) return;
  try {
    const reason = async (name: string): Promise<string> => {
      try {
        (await takeMailboxSnapshot(f.cfg, name)).release();
      } catch (e) {
        if (e instanceof MailboxUnavailableError) return e.reason;
        throw e;
      }
      return 'ok';
    };
    assert.is(await reason('user.tom.Gone'), 'tombstone');
    assert.is(await reason('user.tom.Mid'), 'intermediate');
    assert.is(await reason('user.tom.Nope'), 'nonexistent');
  } finally {
    f.env.cleanup();
  }
});

test('a live entry whose cyrus.index or cyrus.header is missing is a CyrusFileError naming it', async () => {
  const f = fixture('a live entry whose files are missing');
  if (!f) return;
  try {
    for (const file of ['index', 'header'] as const) {
      const p = mailboxMetaFile(f.cfg, f.loc, file);
      const saved = fs.readFileSync(p);
      fs.rmSync(p);
      const e = await rejection(takeMailboxSnapshot(f.cfg, 'user.tom'));
      assert.ok(e instanceof CyrusFileError && e.path === p && /mailboxes.db entry is live/.test(e.message), String(e));
      fs.writeFileSync(p, saved);
    }
    (await takeMailboxSnapshot(f.cfg, 'user.tom')).release();
  } finally {
    f.env.cleanup();
  }
});

test('a missing lock file is an error and is not created', async () => {
  const f = fixture('a missing lock file is an error');
  if (!f) return;
  try {
    const namelock = lockFile(f.cfg, mailboxLockName(f.loc));
    fs.rmSync(namelock);
    assert.ok(isErr(LockError, /does not exist/)(await rejection(takeMailboxSnapshot(f.cfg, 'user.tom'))));
    assert.not.ok(fs.existsSync(namelock));
    // The namespace lock taken before it was released again.
    const ns = new LockFile(lockFile(f.cfg, userNamespaceLockName('tom')), { write: true });
    assert.ok(ns.tryLock('exclusive'));
    ns.close();
  } finally {
    f.env.cleanup();
  }
});

test('locks: shared, brief, in order; a held namelock blocks writers until released', async () => {
  const f = fixture('locks: shared, brief, in order');
  if (!f) return;
  try {
    const nsFile = lockFile(f.cfg, userNamespaceLockName('tom'));
    const nameFile = lockFile(f.cfg, mailboxLockName(f.loc));
    const indexFile = mailboxMetaFile(f.cfg, f.loc, 'index');

    // A writer holding the namespace lock makes us wait (and time out).
    const writer = new LockFile(nsFile, { write: true });
    assert.ok(writer.tryLock('exclusive'));
    assert.ok(isErr(LockError, /timed out/)(await rejection(takeMailboxSnapshot(f.cfg, 'user.tom', { timeoutMs: 50 }))));
    const pending = takeMailboxSnapshot(f.cfg, 'user.tom', { timeoutMs: 5000 });
    await new Promise((r) => setTimeout(r, 100));
    writer.unlock();
    (await pending).release();

    // Same for the index lock; the namespace and name locks must have been released on the way out.
    const indexWriter = new LockFile(indexFile, { write: true });
    assert.ok(indexWriter.tryLock('exclusive'));
    assert.ok(isErr(LockError, /timed out/)(await rejection(takeMailboxSnapshot(f.cfg, 'user.tom', { timeoutMs: 50 }))));
    assert.ok(writer.tryLock('exclusive'), 'namespace lock released after failure');
    writer.unlock();
    indexWriter.unlock();

    // All three are free after a snapshot, except a kept namelock.
    const kept = await takeMailboxSnapshot(f.cfg, 'user.tom', { keepNamelock: true });
    const probe = new LockFile(nameFile, { write: true });
    assert.not.ok(probe.tryLock('exclusive'), 'namelock kept');
    assert.ok(probe.tryLock('shared'), 'kept shared');
    probe.unlock();
    assert.ok(writer.tryLock('exclusive'), 'namespace released');
    writer.unlock();
    assert.ok(indexWriter.tryLock('exclusive'), 'index released');
    indexWriter.unlock();
    kept.release();
    kept.release();
    assert.ok(probe.tryLock('exclusive'), 'namelock released');
    probe.close();
    writer.close();
    indexWriter.close();
  } finally {
    f.env.cleanup();
  }
});

test('our shared index lock holds off a real Cyrus writer (OFD vs POSIX fcntl)', async () => {
  const f = fixture('our shared index lock holds off a real Cyrus writer');
  if (!f) return;
  try {
    const reader = new LockFile(mailboxMetaFile(f.cfg, f.loc, 'index'));
    assert.ok(reader.tryLock('shared'));
    const argv = [path.join(CYRUS_BIN, 'ipurge'), '-C', f.env.conf, '-f', '-b', '150', 'user.tom'];
    const child = process.getuid?.() === 0 ? spawn('runuser', ['-u', 'cyrus', '--', ...argv], { stdio: 'ignore', env: CYRUS_TOOL_ENV }) : spawn(argv[0] ?? '', argv.slice(1), { stdio: 'ignore', env: CYRUS_TOOL_ENV });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const early = await Promise.race([exited, new Promise((r) => setTimeout(() => r('still waiting'), 400))]);
    assert.is(early, 'still waiting', 'ipurge must wait for our shared lock');
    reader.close();
    assert.is(await exited, 0);
    const { snapshot: s, release } = await takeMailboxSnapshot(f.cfg, 'user.tom');
    release();
    assert.ok(s.records.some(isExpunged));
  } finally {
    f.env.cleanup();
  }
});

test.run();
