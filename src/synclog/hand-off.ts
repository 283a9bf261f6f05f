/**
 * Cyrus's reader hand-off (rename log → log-run, then take and drop the
 * lock on log-run to wait out writers that opened the old inode) without
 * tying up a libuv pool thread and without ignoring a stop. The rename and
 * a first try of the lock run synchronously; a writer still holding it (a
 * stuck writer, a tool holding the lock) is waited out by polling on the
 * event loop, where the stop signal ends the wait with ECANCELED.
 */
import fs from 'node:fs';
import { handOffLogSync, LockFile, lockPolling, type HandOffState } from '../native/index.js';

export async function handOffLogAbortable(log: string, run: string, timeoutMs: number, signal?: AbortSignal): Promise<HandOffState> {
  if (signal?.aborted) throw Object.assign(new Error('ECANCELED: hand-off canceled'), { code: 'ECANCELED' });
  try {
    // Without waiting: the rename and a free lock are a few syscalls, less than a pool round trip, and
    // this runs once per pass. A writer holding the lock (for microseconds, as a rule) is waited out below.
    return handOffLogSync(log, run, 0);
  } catch (error) {
    // The rename stands: log-run is ours, once its last writer is done.
    if ((error as NodeJS.ErrnoException).code !== 'ETIMEDOUT' || !fs.existsSync(run)) throw error;
    await waitOutWriters(run, timeoutMs, signal);
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
