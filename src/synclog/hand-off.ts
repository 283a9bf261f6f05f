/**
 * Cyrus's reader hand-off (rename log → log-run, then take and drop the
 * lock on log-run to wait out writers that opened the old inode) without
 * tying up a libuv pool thread and without ignoring a stop. The addon's
 * handOffLog waits on a pool thread; Cyrus writers hold the lock for
 * microseconds, so it gets POOL_WAIT_MS. A longer wait (a stuck writer, a
 * tool holding the lock) goes on polling on the event loop, where the stop
 * signal ends it with ECANCELED.
 */
import fs from 'node:fs';
import { handOffLog, LockFile, lockPolling, type HandOffState } from '../native/index.js';

const POOL_WAIT_MS = 200;

export async function handOffLogAbortable(log: string, run: string, timeoutMs: number, signal?: AbortSignal): Promise<HandOffState> {
  if (signal?.aborted) throw Object.assign(new Error('ECANCELED: hand-off canceled'), { code: 'ECANCELED' });
  try {
    return await handOffLog(log, run, Math.min(POOL_WAIT_MS, timeoutMs));
  } catch (error) {
    // The rename stands: log-run is ours, once its last writer is done.
    if ((error as NodeJS.ErrnoException).code !== 'ETIMEDOUT' || !fs.existsSync(run)) throw error;
    await waitOutWriters(run, Math.max(0, timeoutMs - POOL_WAIT_MS), signal);
    return 'taken';
  }
}

/** Takes and drops log-run's lock; throws ETIMEDOUT, or ECANCELED on a stop. */
export async function waitOutWriters(run: string, timeoutMs: number, signal?: AbortSignal): Promise<void> {
  const lock = new LockFile(run, { write: true });
  try {
    await lockPolling(lock, 'exclusive', timeoutMs, signal);
    lock.unlock();
  } finally {
    lock.close();
  }
}
