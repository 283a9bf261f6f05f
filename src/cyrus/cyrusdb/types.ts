/**
 * The read-only database interface every cyrusdb backend reader produces, and
 * its errors. A Db is an immutable in-memory snapshot taken under Cyrus' own
 * lock; keys and values are raw bytes (Buffers sharing the file image).
 */
import { CyrusFileError } from '../file-error.js';

export type DetectedBackend = 'twoskip' | 'skiplist' | 'flat';

export interface Entry {
  readonly key: Buffer;
  readonly value: Buffer;
}

export interface Db {
  readonly backend: DetectedBackend;
  /** Path the snapshot was read from ('' for decoders fed a buffer). */
  readonly path: string;
  /** Live records. */
  readonly size: number;
  get(key: Buffer | string): Buffer | undefined;
  /** Records in the database's own order (raw byte order for twoskip/skiplist), optionally only keys starting with prefix. */
  entries(prefix?: Buffer | string): IterableIterator<Entry>;
}

/** The file is damaged (bad magic, CRC, pointer): Cyrus would refuse it too. */
export class CyrusDbError extends CyrusFileError {
  override readonly code: string = 'SYNCMUX_CYRUS_DB';
}

/**
 * The file is mid-transaction or was left by a crashed writer (twoskip DIRTY,
 * size ≠ current_size, unterminated skiplist log). Cyrus repairs it on the next
 * write open; a read-only client must retry later and never repair.
 */
export class DbBusyError extends CyrusDbError {
  override readonly code: string = 'SYNCMUX_CYRUS_DB_BUSY';
}

/**
 * n rounded up to a multiple of `to`, exactly for any length a file can
 * state: bitwise `(n + 7) & ~7` wraps at 2^31, turning a corrupt length
 * into a small or negative one that passes the bounds checks.
 */
export const roundUp = (n: number, to: number): number => n + ((to - (n % to)) % to);

export const toKey = (k: Buffer | string): Buffer => (typeof k === 'string' ? Buffer.from(k, 'utf8') : k);
