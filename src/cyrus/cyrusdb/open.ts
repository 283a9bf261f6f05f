/**
 * Opening a cyrusdb file read-only: backend by magic (never by config), the
 * whole image read under a shared fcntl lock with the inode re-check, then
 * decoded offline. A busy image (crashed or mid-commit writer) is retried a
 * few times and then reported as DbBusyError; nothing is ever repaired.
 * Whatever a decoder or seeker lets escape on a damaged file becomes a
 * CyrusDbError naming it (file-error.ts).
 */
import fs from 'node:fs';
import type { LockFile } from '../../native/index.js';
import { lockExisting, readAllFd, readFileLocked, readRangeFd, type LockOptions } from '../lock.js';
import { detectBackend, detectMagic } from './detect.js';
import { decodeFlat } from './flat.js';
import { MemoryDb } from './memory-db.js';
import { decodeSkiplist } from './skiplist.js';
import { decodeTwoskip } from './twoskip.js';
import { identityKey, type DbMemo } from './read-memo.js';
import { SkiplistSeeker } from './skiplist-seek.js';
import { TwoskipSeeker } from './twoskip-seek.js';
import { CyrusDbError, DbBusyError, toKey, type Db } from './types.js';
import { decodingEach, decodingFile, namingFile } from '../file-error.js';

export interface OpenDbOptions extends LockOptions {
  /** Extra reads when the image is busy; default 5. */
  busyRetries?: number;
  /** Pause between busy retries; default 20 ms, doubling. */
  busyDelayMs?: number;
}

export type DbReader = Pick<Db, 'get' | 'entries'>;

/** The identity (device, inode, size, mtime) of the file at `path` now; null when absent. */
export function pathIdentity(path: string): string | null {
  try {
    return identityKey(fs.statSync(path, { bigint: true }));
  } catch {
    return null;
  }
}

/**
 * fn against a file we hold a shared lock on: a seeker that reads only the
 * records it visits for twoskip and skiplist files, else (flat) the decoded
 * image. With a memo, what fn reads is kept for later lock-free answers.
 * Throws DbBusyError for an image mid-commit (the caller retries).
 */
export function readLockedDb<T>(lf: LockFile, path: string, fn: (db: DbReader) => T, memo?: DbMemo): T {
  const st = fs.fstatSync(lf.fd, { bigint: true });
  const size = Number(st.size);
  const magic = detectMagic(readRangeFd(lf.fd, 0, 32));
  let db: DbReader;
  if (magic !== null) {
    const readAt = (off: number, len: number): Buffer => readRangeFd(lf.fd, off, len);
    const seeker = decodingFile(path, dbError, () => (magic === 'twoskip' ? new TwoskipSeeker(readAt, size, path) : new SkiplistSeeker(readAt, size, path)));
    db = {
      get: (k) => decodingFile(path, dbError, () => seeker.get(toKey(k))),
      entries: (prefix) => decodingEach(path, dbError, seeker.scan(toKey(prefix ?? ''))),
    };
  } else {
    db = decodeDb(readAllFd(lf.fd), path);
  }
  return namingFile(path, () => fn(memo ? memo.record(identityKey(st), db) : db));
}

/** What an error escaping a backend decoder becomes: the file is damaged. */
const dbError = (message: string, cause: unknown): CyrusDbError => new CyrusDbError(message, '', { cause });

/**
 * fn against the file without blocking the event loop: answered from the
 * memo while the file is unchanged, else under a shared lock waited for on
 * the event loop (Cyrus may hold mailboxes.db for seconds: a checkpoint, a
 * big rename). Busy images are retried like tryOpenDbAsync; null when absent.
 */
export async function queryDb<T>(path: string, fn: (db: DbReader) => T, options: OpenDbOptions & { memo?: DbMemo } = {}): Promise<T | null> {
  const hit = options.memo?.answer(pathIdentity(path), fn);
  if (hit) return hit.value;
  const retries = options.busyRetries ?? 5;
  let delay = options.busyDelayMs ?? 20;
  for (let attempt = 0; ; attempt++) {
    const lf = await lockExisting(path, 'shared', options);
    if (!lf) return null;
    try {
      return readLockedDb(lf, path, fn, options.memo);
    } catch (e) {
      if (!(e instanceof DbBusyError) || attempt >= retries) throw e;
    } finally {
      lf.close();
    }
    await new Promise((r) => setTimeout(r, delay));
    delay *= 2;
  }
}

/** Pure: decodes a file image into a Db snapshot. */
export function decodeDb(buf: Buffer, path = ''): Db {
  const backend = detectBackend(buf);
  const decode = { twoskip: decodeTwoskip, skiplist: decodeSkiplist, flat: decodeFlat }[backend];
  return new MemoryDb(backend, path, decodingFile(path, dbError, () => decode(buf, path).records));
}

/** Reads and decodes; null when the file does not exist (Cyrus: "no entries"). */
export async function tryOpenDbAsync(path: string, options: OpenDbOptions = {}): Promise<Db | null> {
  const retries = options.busyRetries ?? 5;
  let delay = options.busyDelayMs ?? 20;
  for (let attempt = 0; ; attempt++) {
    const buf = await readFileLocked(path, options);
    if (!buf) return null;
    try {
      return decodeDb(buf, path);
    } catch (e) {
      if (!(e instanceof DbBusyError) || attempt >= retries) throw e;
    }
    await new Promise((r) => setTimeout(r, delay));
    delay *= 2;
  }
}

export async function openDbAsync(path: string, options: OpenDbOptions = {}): Promise<Db> {
  const db = await tryOpenDbAsync(path, options);
  if (!db) throw new CyrusDbError('no such database file', path);
  return db;
}

/** An empty snapshot, for absent optional databases. */
export function emptyDb(path = ''): Db {
  return new MemoryDb('flat', path, []);
}
