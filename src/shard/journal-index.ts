/**
 * The retry journal's state in memory: per shard key, its pending lines (as
 * places in the journal file, not as text, so a large backlog costs a few
 * numbers per line) and its retry state. Replaying the file's records into
 * an index rebuilds exactly what the runner had before a crash.
 */
import type { JournalRecord } from './journal-record.js';

/** One pending line: where its `+` record sits in the file (-1 until written). */
export interface Entry {
  offset: number;
  readonly length: number;
  readonly bornMs: number;
}

export class KeyQueue {
  entries: Entry[] = [];
  head = 0;
  /** Failed attempts in a row; 0 for lines that were only queued or parked. */
  attempts = 0;
  /** Not to be tried before this time. */
  dueMs = 0;

  get pending(): number {
    return this.entries.length - this.head;
  }

  first(): Entry | undefined {
    return this.entries[this.head];
  }

  /** The written entries from the head, at most max. */
  writtenHead(max: number): Entry[] {
    const out: Entry[] = [];
    for (let i = this.head; i < this.entries.length && out.length < max; i++) {
      const entry = this.entries[i]!;
      if (entry.offset < 0) break;
      out.push(entry);
    }
    return out;
  }

  live(): Entry[] {
    return this.entries.slice(this.head);
  }

  /** Drops the first n entries; returns them. */
  shift(n: number): Entry[] {
    const taken = this.entries.slice(this.head, this.head + n);
    this.head += taken.length;
    // Amortised O(1): reclaim the dead prefix once it dominates.
    if (this.head > 1024 && this.head * 2 > this.entries.length) {
      this.entries = this.entries.slice(this.head);
      this.head = 0;
    }
    return taken;
  }
}

export class JournalIndex {
  readonly keys = new Map<string, KeyQueue>();
  /** Pending lines, written or not. */
  lines = 0;
  /** Bytes of the written pending entries: what a compaction would keep. */
  liveBytes = 0;

  get(key: string): KeyQueue | undefined {
    return this.keys.get(key);
  }

  has(key: string): boolean {
    return (this.keys.get(key)?.pending ?? 0) > 0;
  }

  push(key: string, entry: Entry): void {
    this.queueOf(key).entries.push(entry);
    this.lines++;
    if (entry.offset >= 0) this.liveBytes += entry.length;
  }

  /** An entry got its place in the file. */
  written(entry: Entry, offset: number): void {
    if (entry.offset < 0) this.liveBytes += entry.length;
    entry.offset = offset;
  }

  setState(key: string, attempts: number, dueMs: number): void {
    const queue = this.queueOf(key);
    queue.attempts = attempts;
    queue.dueMs = dueMs;
  }

  /**
   * Confirms the first n pending lines. A success also ends the run of
   * failures, so the rest are due at once; a key left with none is forgotten.
   */
  confirm(key: string, n: number): void {
    const queue = this.keys.get(key);
    if (queue === undefined) return;
    queue.attempts = 0;
    queue.dueMs = 0;
    for (const entry of queue.shift(n)) {
      this.lines--;
      if (entry.offset >= 0) this.liveBytes -= entry.length;
    }
    if (queue.pending === 0) this.keys.delete(key);
  }

  /** Applies one record read back from the file at `offset`. */
  replay(record: JournalRecord, offset: number, length: number): void {
    if (record.kind === '+') this.push(record.key, { offset, length, bornMs: record.bornMs });
    else if (record.kind === '!') this.setState(record.key, record.attempts, record.dueMs);
    else this.confirm(record.key, record.count);
  }

  /** After a replay: state records of keys with nothing pending mean nothing. */
  dropIdle(): void {
    for (const [key, queue] of this.keys) if (queue.pending === 0) this.keys.delete(key);
  }

  oldestBornMs(): number {
    let oldest = 0;
    for (const queue of this.keys.values()) {
      const born = queue.first()?.bornMs ?? 0;
      if (born > 0 && (oldest === 0 || born < oldest)) oldest = born;
    }
    return oldest;
  }

  private queueOf(key: string): KeyQueue {
    let queue = this.keys.get(key);
    if (queue === undefined) {
      queue = new KeyQueue();
      this.keys.set(key, queue);
    }
    return queue;
  }
}
