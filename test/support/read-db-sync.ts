/**
 * Test-only synchronous reads of cyrusdb files, for fixtures and checks
 * that run while no Cyrus process writes them (a fixture just built, a lab
 * at rest). The image is read under a shared lock polled for on this
 * thread, so a writer that does show up is waited for rather than read
 * mid-commit.
 * syncmux itself reads only through the async readers in src/cyrus/cyrusdb,
 * which wait for locks on the event loop.
 */
import { decodeDb, type CyrusConfig, Mboxlist, mboxlistPath } from '../../src/cyrus/index.js';
import type { Db } from '../../src/cyrus/cyrusdb/types.js';
import { readAllFd } from '../../src/cyrus/lock.js';
import { LockFile } from '../../src/native/index.js';

/** The decoded file at `path`; null when there is none. */
export function readDbSync(path: string): Db | null {
  let lf: LockFile;
  try {
    lf = new LockFile(path, { write: false, create: false });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
  try {
    // A writer holds it for microseconds; poll briefly rather than read mid-commit.
    for (let waited = 0; !lf.tryLock('shared'); waited += 5) {
      if (waited > 10_000) throw new Error(`${path}: still locked after 10 s`);
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5);
    }
    return decodeDb(readAllFd(lf.fd), path);
  } finally {
    lf.close();
  }
}

/** config's mailboxes.db, whole; it must exist. */
export function mboxlistSync(config: CyrusConfig): Mboxlist {
  const db = readDbSync(mboxlistPath(config));
  if (!db) throw new Error(`${mboxlistPath(config)}: no such file`);
  return new Mboxlist(db, config);
}
