/**
 * Answers repeated reads of a cyrusdb file without opening or locking it
 * again while it is provably unchanged. Each record a locked read looked up
 * (and each prefix it scanned) is kept, with the file's identity at the
 * time: device, inode, size and mtime. Every twoskip and skiplist commit
 * appends, a checkpoint or a flat rewrite renames a new inode in, so a
 * file whose identity still matches holds the same committed content; a
 * writer mid-transaction has committed nothing yet. A reader whose answer
 * needs anything not kept takes the lock and reads (DbMemo.record).
 * Pure bookkeeping apart from the caller's stat.
 */
import { type Db, type Entry, toKey } from './types.js';

type Reader = Pick<Db, 'get' | 'entries'>;

/** What a file's identity is made of, from fs.Stats with bigint: true. */
export interface FileIdentity {
  readonly dev: bigint;
  readonly ino: bigint;
  readonly size: bigint;
  readonly mtimeNs: bigint;
}

export const identityKey = (st: FileIdentity): string => `${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}`;

/** Thrown inside a memo-only read that needs something not kept; the caller then reads under the lock. */
class MemoMiss extends Error {}

/** Beyond this many kept answers the memo starts over: it is a cache of hot lookups, not a copy of the file. */
const MAX_KEPT = 20_000;

export class DbMemo {
  private identity: string | null = null;
  private readonly gets = new Map<string, Buffer | undefined>();
  private readonly scans = new Map<string, Entry[]>();

  /** fn's answer from what is kept, if `identity` is the one it was read at and fn asks only for kept records; else undefined. */
  answer<T>(identity: string | null, fn: (db: Reader) => T): { value: T } | undefined {
    if (identity === null || identity !== this.identity) return undefined;
    try {
      return { value: fn(this.keptReader()) };
    } catch (e) {
      if (e instanceof MemoMiss) return undefined;
      throw e;
    }
  }

  /** Wraps a locked reader of the file at `identity`, keeping what fn reads through it. */
  record(identity: string, db: Reader): Reader {
    if (identity !== this.identity || this.gets.size + this.scans.size > MAX_KEPT) {
      this.gets.clear();
      this.scans.clear();
      this.identity = identity;
    }
    return {
      get: (k) => {
        const key = toKey(k).toString('latin1');
        const value = db.get(k);
        this.gets.set(key, value && Buffer.from(value)); // a copy: the reader's buffers may be reused
        return value;
      },
      entries: (prefix) => {
        const all = [...db.entries(prefix)].map((e) => ({ key: Buffer.from(e.key), value: Buffer.from(e.value) }));
        this.scans.set(toKey(prefix ?? '').toString('latin1'), all);
        return all.values();
      },
    };
  }

  /** Forgets everything (the caller saw the file change under it). */
  clear(): void {
    this.identity = null;
    this.gets.clear();
    this.scans.clear();
  }

  private keptReader(): Reader {
    return {
      get: (k) => {
        const key = toKey(k).toString('latin1');
        if (!this.gets.has(key)) throw new MemoMiss();
        return this.gets.get(key);
      },
      entries: (prefix) => {
        const all = this.scans.get(toKey(prefix ?? '').toString('latin1'));
        if (!all) throw new MemoMiss();
        return all.values();
      },
    };
  }
}

/** One DbMemo per file, owned by whoever reads the same files over and over (a replication session). */
export class DbMemos {
  private readonly memos = new Map<string, DbMemo>();

  of(path: string): DbMemo {
    let memo = this.memos.get(path);
    if (!memo) this.memos.set(path, (memo = new DbMemo()));
    return memo;
  }
}
