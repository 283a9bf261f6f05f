/**
 * Shared-lock primitives for reading Cyrus files, on top of the addon's OFD
 * locks (which conflict with Cyrus' fcntl locks but belong to our fd, so no
 * other fd in this process can drop them). Files are opened read-only and
 * never created: a missing lock file is an error, a missing data file is
 * reported as null. Files that writers replace by rename (twoskip checkpoint,
 * flat, cyrus.header, repacked cyrus.index) are re-checked by inode after
 * locking and reopened when they moved, as mappedfile_readlock does.
 */
import fs from 'node:fs';
import { LockFile, lockPolling, type LockMode } from '../native/index.js';
import { SyncmuxError } from '../errors.js';

export type { LockMode } from '../native/index.js';

export interface LockOptions {
  /** Bound on each lock wait; default 10 s (Cyrus holds db locks for microseconds). */
  timeoutMs?: number;
  /** How often to reopen a file replaced under us before giving up; default 20. */
  maxReopen?: number;
  /** A stop: an async wait in progress ends at once with a LockError (errno ECANCELED). */
  signal?: AbortSignal;
}

export class LockError extends SyncmuxError {
  constructor(
    message: string,
    readonly path: string,
    /** The system's errno code (ETIMEDOUT, ENOENT, …) when one caused it. */
    readonly errno?: string,
  ) {
    super('SYNCMUX_LOCK', `${path}: ${message}`);
  }
}

const DEFAULT_TIMEOUT = 10_000;

const errCode = (e: unknown): string | undefined => (e as { code?: string } | null)?.code;

/** Opens read-only; null when the file does not exist. */
function openReadOnly(file: string): LockFile | null {
  try {
    return new LockFile(file, { write: false, create: false });
  } catch (e) {
    if (errCode(e) === 'ENOENT') return null;
    throw e;
  }
}

function lockError(file: string, e: unknown): LockError {
  const code = errCode(e);
  const message = code === 'ETIMEDOUT' ? 'timed out waiting for lock' : code === 'ECANCELED' ? 'lock wait ended by a stop' : String((e as Error).message ?? e);
  return new LockError(message, file, code);
}

/**
 * Takes `mode` on an existing file, waiting on the event loop, reopening
 * while the path no longer names the locked inode. Returns null if the file
 * is (or becomes) absent.
 */
export async function lockExisting(file: string, mode: LockMode, options: LockOptions = {}): Promise<LockFile | null> {
  const timeout = options.timeoutMs ?? DEFAULT_TIMEOUT;
  for (let attempt = 0; attempt <= (options.maxReopen ?? 20); attempt++) {
    const lf = openReadOnly(file);
    if (!lf) return null;
    try {
      await lockPolling(lf, mode, timeout, options.signal);
    } catch (e) {
      lf.close();
      throw lockError(file, e);
    }
    if (lf.samePathInode()) return lf;
    lf.close();
  }
  throw new LockError('file kept being replaced while locking', file);
}

/** A Cyrus lock file (namelock, user namespace lock): it must already exist. */
export async function lockName(file: string, mode: LockMode, options: LockOptions = {}): Promise<LockFile> {
  const lf = await lockExisting(file, mode, options);
  if (!lf) throw new LockError('lock file does not exist (not created by a read-only client)', file, 'ENOENT');
  return lf;
}

/** Reads the whole file through the locked fd (the image the lock protects). */
export function readAllFd(fd: number): Buffer {
  const size = fs.fstatSync(fd).size;
  const buf = Buffer.allocUnsafe(size);
  let n = 0;
  while (n < size) {
    const got = fs.readSync(fd, buf, n, size - n, n);
    if (got === 0) break;
    n += got;
  }
  return n === size ? buf : buf.subarray(0, n);
}

/** Reads `[offset, offset+length)` through the fd; short at end of file. */
export function readRangeFd(fd: number, offset: number, length: number): Buffer {
  const buf = Buffer.allocUnsafe(length);
  let n = 0;
  while (n < length) {
    const got = fs.readSync(fd, buf, n, length - n, offset + n);
    if (got === 0) break;
    n += got;
  }
  return n === length ? buf : buf.subarray(0, n);
}

/** Shared-locked whole-file read with the inode re-check; null if absent. */
export async function readFileLocked(file: string, options: LockOptions = {}): Promise<Buffer | null> {
  const lf = await lockExisting(file, 'shared', options);
  if (!lf) return null;
  try {
    return readAllFd(lf.fd);
  } finally {
    lf.close();
  }
}
