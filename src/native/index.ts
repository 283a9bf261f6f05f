/**
 * The typed face of the C++ addon (native/). This module owns the API and its
 * documentation; the addon only does what Node cannot: OFD fcntl locks that
 * interoperate with Cyrus, the Cyrus sync-log writer/reader protocols, syslog(3),
 * XXH3 hashing for shard assignment, and client-side Cyrus SASL (libsasl2,
 * loaded at run time: see native/sasl.cc for why).
 */
import fs from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import type { Secret } from '../cyrus/index.js';

export type LockMode = 'shared' | 'exclusive';

export interface LockFileOptions {
  /** Open read-write (needed for an exclusive lock). Default false. */
  write?: boolean;
  /** Create the file if missing. Default false: a missing Cyrus lock file is an error. */
  create?: boolean;
}

/** An fd owned by the addon carrying an OFD whole-file lock. */
export interface LockFile {
  /** Try once; false if another process or fd holds a conflicting lock. */
  tryLock(mode: LockMode): boolean;
  unlock(): void;
  /** True while the path still names the inode this fd has open. */
  samePathInode(): boolean;
  /** Releases the lock and the fd. */
  close(): void;
  /** For reads only (fs.readSync). Never close it: the LockFile owns it. */
  readonly fd: number;
}

export interface AppendOptions {
  /** fdatasync before unlocking. Default true. */
  sync?: boolean;
  /** Bound on the lock wait. Default: forever (Cyrus writers hold it for microseconds). */
  timeoutMs?: number;
}

export type LogData = string | Uint8Array | ReadonlyArray<string | Uint8Array>;

/** What handOffLog found: `taken` = log renamed to log-run and writers drained;
 *  `reprocess` = a log-run already existed (process it first, log untouched);
 *  `empty` = no log to take. */
export type HandOffState = 'taken' | 'reprocess' | 'empty';

interface Addon {
  hash64(key: string): bigint;
  shardOf(key: string, shards: number): number;
  shardOfLines(keys: Uint8Array, shards: number): Uint32Array;
  selectIndexRecords(fd: number, startOffset: number, recordSize: number, numRecords: number, modseqOffset: number, modseqHi: number, modseqLo: number, uidAbove: number): Buffer | null;
  LockFile: new (file: string, write: boolean, create: boolean) => LockFile;
  appendLog(file: string, chunks: Uint8Array[], sync: boolean, timeoutMs: number): Promise<number>;
  handOffLogSync(log: string, run: string, timeoutMs?: number): HandOffState;
  handOffLog(log: string, run: string, timeoutMs?: number): Promise<HandOffState>;
  fsyncDir(dir: string): void;
  cancelPending(): void;
  openlog(ident: string, facility: number): void;
  syslog(priority: number, message: string): void;
  saslUnavailableReason(): string | null;
  RawDeflate: new (level?: number) => RawZlibStream;
  RawInflate: new () => RawZlibStream;
  SaslClient: new (
    service: string, serverFqdn: string, localIpPort: string, remoteIpPort: string,
    authname: string | null, realm: string | null, password: Buffer | null, flags: number,
    minSsf: number, maxSsf: number, maxBufSize: number, externalSsf: number, externalAuthId: string | null,
  ) => NativeSaslClient;
}

/**
 * A raw (windowBits -15) zlib stream; every push ends in a Z_SYNC_FLUSH, so
 * its output can go on the wire as it is. One push at a time: pushAsync
 * (on the libuv pool, for large inputs) must call back before the next.
 * Errors carry code 'EZLIB'.
 */
export interface RawZlibStream {
  push(input: Buffer): Buffer;
  pushAsync(input: Buffer, callback: (error: Error | null, output?: Buffer) => void): void;
  close(): void;
}

/** One libsasl2 step's outcome: code is SASL_OK (0), SASL_CONTINUE (1) or an error (< 0, or SASL_INTERACT 2). */
export interface SaslStep {
  code: number;
  /** The mechanism sasl_client_start chose. */
  mech?: string;
  /** What to send (null: nothing; empty Buffer: an empty response). */
  output: Buffer | null;
  /** sasl_errstring(code), as stock logs it, on failure. */
  errstring?: string;
  /** sasl_errdetail(), on failure. */
  detail?: string;
}

interface NativeSaslClient {
  start(mechlist: string): Promise<SaslStep>;
  step(challenge: Buffer): Promise<SaslStep>;
  encode(plain: Buffer): Buffer;
  decode(wire: Buffer): Buffer;
  ssf(): number;
  maxOutBuf(): number;
  dispose(): void;
}

const require = createRequire(import.meta.url);
const loadBinding = require('node-gyp-build') as (dir: string) => unknown;
/** Where binding.gyp and build/ live: searched upwards, so a bundled copy of this module (dist/worker-bundle) loads the same addon. */
function packageRoot(from: string): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, 'binding.gyp'))) return dir;
    if (path.dirname(dir) === dir) throw new Error(`syncmux: no binding.gyp in ${from} or above`);
  }
}
const addon = loadBinding(packageRoot(path.dirname(fileURLToPath(import.meta.url)))) as Addon;

/** XXH3-64 of the key's UTF-8 bytes. */
export const hash64 = addon.hash64;
/** XXH3-64(key) mod shards: the shard function. Pinned by golden tests. */
export const shardOf = addon.shardOf;
/** Batch form: keys separated by '\n' in one buffer, one shard number each. */
export const shardOfLines = addon.shardOfLines;
/** Validates here what the addon takes as plain numbers. */
class ValidatedLockFile extends addon.LockFile implements LockFile {
  constructor(file: string, options: LockFileOptions = {}) {
    if (typeof file !== 'string') throw new TypeError('path must be a string');
    super(file, options.write === true, options.create === true);
  }
}
export const LockFile: new (file: string, options?: LockFileOptions) => LockFile = ValidatedLockFile;

/** Where a cyrus.index's records are and what to take from them (see selectIndexRecords). */
export interface IndexSelectLayout {
  startOffset: number;
  recordSize: number;
  numRecords: number;
  /** Byte offset of MODSEQ in a record; null for versions without one. */
  modseqOffset: number | null;
}

const u32 = (name: string, v: number): number => {
  if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new RangeError(`${name} must be a 32-bit unsigned integer, not ${v}`);
  return v;
};

/**
 * The records of the cyrus.index open on `fd` (whose lock the caller holds)
 * with a non-zero UID and UID above `uidAbove` or MODSEQ above `modseqAbove`,
 * as [recno u32 BE][record bytes] each, in file order; null when the file is
 * shorter than its header says. Reads through a small buffer: the rest of
 * the file never reaches the JS heap.
 */
export function selectIndexRecords(fd: number, layout: IndexSelectLayout, modseqAbove: bigint, uidAbove: number): Buffer | null {
  const { startOffset, recordSize, numRecords, modseqOffset } = layout;
  u32('startOffset', startOffset);
  u32('numRecords', numRecords);
  if (!Number.isInteger(recordSize) || recordSize < 4 || recordSize > 65536) throw new RangeError(`recordSize out of range: ${recordSize}`);
  if (modseqOffset !== null && (!Number.isInteger(modseqOffset) || modseqOffset < 0 || modseqOffset + 8 > recordSize)) throw new RangeError(`modseqOffset out of range: ${modseqOffset}`);
  if (modseqAbove < 0n || modseqAbove > 0xffffffffffffffffn) throw new RangeError(`modseqAbove out of range: ${modseqAbove}`);
  const hi = Number(modseqAbove >> 32n);
  const lo = Number(modseqAbove & 0xffffffffn);
  return addon.selectIndexRecords(u32('fd', fd), startOffset, recordSize, numRecords, modseqOffset ?? -1, hi, lo, u32('uidAbove', uidAbove));
}
/**
 * The addon takes bytes only. Strings are the project's byte strings (one
 * char per byte, as lines are read in latin1), written back byte for byte;
 * a char above 0xFF is a caller's mistake, never silently re-encoded.
 */
function logChunks(data: LogData): Uint8Array[] {
  const list: ReadonlyArray<string | Uint8Array> = typeof data === 'string' || data instanceof Uint8Array ? [data] : data;
  return list.map((chunk) => {
    if (typeof chunk !== 'string') return chunk;
    if (/[^\x00-\xff]/.test(chunk)) throw new TypeError('log data strings must be byte strings (chars up to 0xFF)');
    return Buffer.from(chunk, 'latin1');
  });
}

function appendArgs(options: AppendOptions): [boolean, number] {
  const timeoutMs = options.timeoutMs ?? -1;
  if (!Number.isInteger(timeoutMs)) throw new TypeError(`timeoutMs must be an integer, not ${timeoutMs}`);
  return [options.sync ?? true, timeoutMs];
}

export function appendLog(file: string, data: LogData, options: AppendOptions = {}): Promise<number> {
  try {
    return addon.appendLog(file, logChunks(data), ...appendArgs(options));
  } catch (err) {
    return Promise.reject(err as Error);
  }
}
/** Cyrus reader hand-off: rename log to log-run, wait out writers. */
export const handOffLogSync = addon.handOffLogSync;
export const handOffLog = addon.handOffLog;
export const fsyncDir = addon.fsyncDir;
/** Makes every pending lock wait started on this thread fail with ECANCELED. */
export const cancelPending = addon.cancelPending;
export const openlog = addon.openlog;
export const RawDeflate = addon.RawDeflate;
export const RawInflate = addon.RawInflate;
export const syslog = addon.syslog;

export const SASL_OK = 0;
export const SASL_CONTINUE = 1;
export const SASL_NOMECH = -4;
/** sasl_client_new flag: the protocol can carry data with its success reply (IMAP). */
export const SASL_SUCCESS_DATA = 0x0004;

/** Why libsasl2 cannot be used (not installed, or sasl_client_init failed), or null when it can. */
export function saslUnavailableReason(): string | null {
  return addon.saslUnavailableReason();
}

export interface SaslClientOptions {
  /** SASL service name: "imap" for IMAP, "csync" for csync (as stock's protocol_t). */
  service: string;
  /** The replica's host name as configured (GSSAPI asks for <service>/<host>). */
  serverFqdn: string;
  /** "ip;port" of each end, as Cyrus's iptostring(); DIGEST-MD5 and others use them. */
  localIpPort?: string;
  remoteIpPort?: string;
  authname?: string | null;
  realm?: string | null;
  password?: Secret | null;
  successData?: boolean;
  /** Security properties; stock: 0, 255, 4096 (PROT_BUFSIZE). */
  minSsf?: number;
  maxSsf?: number;
  maxBufSize?: number;
  /** After TLS: its strength and the identity to offer EXTERNAL. */
  externalSsf?: number;
  externalAuthId?: string | null;
}

/**
 * A libsasl2 client connection. start()/step() run on the libuv pool (GSSAPI
 * may talk to a KDC); encode()/decode() wrap and unwrap an established
 * security layer inline. dispose() when done; the password is wiped then.
 */
export class SaslClient {
  private readonly native: NativeSaslClient;

  constructor(o: SaslClientOptions) {
    const u32 = (v: number | undefined, dflt: number, name: string) => {
      const n = v ?? dflt;
      if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new RangeError(`SaslClient: ${name} must be an unsigned integer`);
      return n;
    };
    if (!o.service || !o.serverFqdn) throw new TypeError('SaslClient: service and serverFqdn are required');
    const ints = [u32(o.minSsf, 0, 'minSsf'), u32(o.maxSsf, 255, 'maxSsf'), u32(o.maxBufSize, 4096, 'maxBufSize'), u32(o.externalSsf, 0, 'externalSsf')] as const;
    // The addon copies the password into its own sasl_secret_t; our copy is wiped at once.
    const password = o.password ? Buffer.from(o.password.reveal(), 'utf8') : null;
    try {
      this.native = new addon.SaslClient(
        o.service, o.serverFqdn, o.localIpPort ?? '', o.remoteIpPort ?? '',
        o.authname ?? null, o.realm ?? null, password, o.successData ? SASL_SUCCESS_DATA : 0,
        ints[0], ints[1], ints[2], ints[3], o.externalAuthId ?? null,
      );
    } finally {
      password?.fill(0);
    }
  }

  /** sasl_client_start over a space-separated mechanism list. */
  start(mechlist: string): Promise<SaslStep> {
    return this.native.start(mechlist);
  }

  step(challenge: Buffer): Promise<SaslStep> {
    return this.native.step(challenge);
  }

  /** Negotiated security strength (0: no layer). */
  get ssf(): number {
    return this.native.ssf();
  }

  /** The largest plaintext one encode() may take. */
  get maxOutBuf(): number {
    return this.native.maxOutBuf();
  }

  /** Wraps plaintext, split at maxOutBuf. */
  encode(plain: Buffer): Buffer {
    const max = this.native.maxOutBuf() || 4096;
    if (plain.length <= max) return this.native.encode(plain);
    const parts: Buffer[] = [];
    for (let i = 0; i < plain.length; i += max) parts.push(this.native.encode(plain.subarray(i, i + max)));
    return Buffer.concat(parts);
  }

  /** Unwraps what arrived; partial packets are kept until complete (may return an empty Buffer). */
  decode(wire: Buffer): Buffer {
    return this.native.decode(wire);
  }

  dispose(): void {
    this.native.dispose();
  }
}

/**
 * Waits for a lock on the event loop: tryLock() with a 0.5 ms → 20 ms
 * backoff between attempts. Unlike LockFile#lock it holds no libuv pool
 * thread while it waits. The pool has 4 threads for the whole process
 * (every worker thread shares them), so a few long lock waits there would
 * starve the file reads the lock holder needs to finish: use this for any
 * wait that may last longer than a moment.
 */
export async function lockPolling(lock: LockFile, mode: LockMode, timeoutMs = -1, signal?: AbortSignal): Promise<void> {
  const deadline = timeoutMs >= 0 ? Date.now() + timeoutMs : Infinity;
  let pause = 0.5;
  for (;;) {
    if (lock.tryLock(mode)) return;
    if (signal?.aborted) throw Object.assign(new Error(`ECANCELED: lock wait canceled`), { code: 'ECANCELED' });
    if (Date.now() >= deadline) throw Object.assign(new Error(`ETIMEDOUT: timed out waiting for a ${mode} lock`), { code: 'ETIMEDOUT' });
    await new Promise((resolve) => setTimeout(resolve, pause));
    pause = Math.min(pause * 2, 20);
  }
}
