/**
 * The retry journal, `retry.<i>`: where a shard keeps the lines of users it
 * could not replicate yet, durably, in each user's order. Append-only
 * records (journal-record.ts) written with the Cyrus writer protocol
 * (appendLog), many callers' records per fdatasync (group commit). The
 * index in memory says which lines are pending; the text stays on disk and
 * is read back only when a user is retried.
 *
 * Crash safety: a caller's promise resolves only once its records are
 * synced, and the runner treats lines as handed over only then. Confirmed
 * lines become dead bytes; once at least half the file is dead (and it is
 * at least compactMinBytes), the live records are copied to retry.<i>.tmp,
 * synced and renamed over the journal, then the directory is synced. When
 * nothing is pending the file is removed. Either way a crash leaves the old
 * file or the new one, whole. One writer only: the shard's runner.
 */
import fs from 'node:fs';
import path from 'node:path';
import { appendLog, fsyncDir } from '../native/index.js';
import { parseLine, type SyncLogLine, unlinkIfExists, LINE_END, LineReader } from '../synclog/index.js';
import { contiguousRuns, JournalCorruptError, readRange, trimTornTail } from './journal-file.js';
import { JournalIndex, type Entry, type KeyQueue } from './journal-index.js';
import { confirmRecord, parseRecord, queueRecord, stateRecord } from './journal-record.js';
import type { LogFn } from './log.js';
import { printLineText } from './line-text.js';

export interface JournalOptions {
  readonly file: string;
  readonly tempFile: string;
  /** Compact once the file is at least this big and half dead. Default 4 MiB. */
  readonly compactMinBytes?: number;
  readonly log?: LogFn;
}

export interface RetryState {
  readonly attempts: number;
  readonly dueMs: number;
}

interface Op {
  readonly data: string;
  readonly placements: ReadonlyArray<readonly [Entry, number]>;
  readonly resolve: () => void;
  readonly reject: (error: Error) => void;
}

export class RetryJournal {
  readonly index = new JournalIndex();
  private tail = 0;
  private readFd = -1;
  private ops: Op[] = [];
  private pumping: Promise<void> | null = null;
  private broken: Error | null = null;
  private readonly compactMinBytes: number;

  private constructor(private readonly options: JournalOptions) {
    this.compactMinBytes = options.compactMinBytes ?? 4 * 1024 * 1024;
  }

  /** Loads the journal (replaying its records), cutting off a torn last record first. */
  static async open(options: JournalOptions): Promise<RetryJournal> {
    const journal = new RetryJournal(options);
    unlinkIfExists(options.tempFile); // a compaction that never got to its rename
    await journal.load();
    return journal;
  }

  has(key: string): boolean {
    return this.index.has(key);
  }

  queueOf(key: string): KeyQueue | undefined {
    return this.index.get(key);
  }

  /** Queues lines behind the key's pending ones; `state` (if given) is recorded first. */
  queue(key: string, lines: readonly SyncLogLine[], bornMs: number, state?: RetryState): Promise<void> {
    let data = state ? stateRecord(key, state.attempts, state.dueMs) : '';
    if (state) this.index.setState(key, state.attempts, state.dueMs);
    const placements: Array<readonly [Entry, number]> = [];
    for (const line of lines) {
      const record = queueRecord(key, bornMs, printLineText(line));
      const entry: Entry = { offset: -1, length: record.length, bornMs };
      this.index.push(key, entry);
      placements.push([entry, data.length]);
      data += record;
    }
    return this.enqueue(data, placements);
  }

  setState(key: string, state: RetryState): Promise<void> {
    if (!this.index.has(key)) return Promise.resolve();
    this.index.setState(key, state.attempts, state.dueMs);
    return this.enqueue(stateRecord(key, state.attempts, state.dueMs), []);
  }

  confirm(key: string, count: number): Promise<void> {
    if (count <= 0) return Promise.resolve();
    this.index.confirm(key, count);
    return this.enqueue(confirmRecord(key, count), []);
  }

  /** Up to max of the key's first pending lines that are on disk, parsed. */
  readHead(key: string, max: number): SyncLogLine[] {
    const entries = this.index.get(key)?.writtenHead(max) ?? [];
    const lines: SyncLogLine[] = [];
    for (const [start, end, run] of contiguousRuns(entries)) {
      const bytes = readRange(this.reader(), start, end - start);
      for (const entry of run) {
        const text = bytes.toString('latin1', entry.offset - start, entry.offset - start + entry.length);
        const record = parseRecord(text);
        const parsed = record?.kind === '+' && record.key === key ? parseLine(Buffer.from(record.line, 'latin1')) : null;
        if (!parsed?.ok) throw new JournalCorruptError(`${this.options.file}: no queued line for ${key} at offset ${entry.offset}`);
        lines.push(parsed.line);
      }
    }
    return lines;
  }

  /** Resolves once everything queued so far is on disk. */
  async flush(): Promise<void> {
    while (this.pumping) await this.pumping;
    if (this.broken) throw this.broken;
  }

  async close(): Promise<void> {
    try {
      await this.flush();
    } finally {
      this.closeReader();
    }
  }

  private enqueue(data: string, placements: ReadonlyArray<readonly [Entry, number]>): Promise<void> {
    if (data === '') return Promise.resolve();
    if (this.broken) return Promise.reject(this.broken);
    const done = new Promise<void>((resolve, reject) => this.ops.push({ data, placements, resolve, reject }));
    this.kick();
    return done;
  }

  private kick(): void {
    if (this.pumping || this.ops.length === 0) return;
    // Ops queued between the pump's last look and its settling are picked up here.
    this.pumping = this.pump().finally(() => {
      this.pumping = null;
      this.kick();
    });
  }

  private async pump(): Promise<void> {
    while (this.ops.length > 0 && !this.broken) {
      const ops = this.ops;
      this.ops = [];
      const placements: Array<readonly [Entry, number]> = [];
      let text = '';
      for (const op of ops) {
        for (const [entry, rel] of op.placements) placements.push([entry, text.length + rel]);
        text += op.data;
      }
      try {
        await appendLog(this.options.file, Buffer.from(text, 'latin1'));
        for (const [entry, rel] of placements) this.index.written(entry, this.tail + rel);
        this.tail += text.length;
        this.maybeCompact();
      } catch (error) {
        this.broken = error as Error;
        for (const op of [...ops, ...this.ops.splice(0)]) op.reject(this.broken);
        return;
      }
      for (const op of ops) op.resolve();
    }
  }

  private async load(): Promise<void> {
    const file = this.options.file;
    const size = trimTornTail(file);
    if (size === 0) return;
    const reader = await LineReader.open(file);
    let bad = 0;
    try {
      for (let batch = await reader.next(); batch; batch = await reader.next()) {
        for (let i = 0; i < batch.count; i++) {
          const start = batch.starts[i]!;
          const end = batch.ends[i]!;
          const record = batch.endings[i] === LINE_END.LF ? parseRecord(batch.buf.toString('latin1', start, end)) : null;
          if (record === null || (record.kind === '+' && !parseLine(Buffer.from(record.line, 'latin1')).ok)) bad++;
          else this.index.replay(record, batch.fileOffset + start, end - start + 1);
        }
      }
    } finally {
      await reader.close();
    }
    this.index.dropIdle();
    this.tail = size;
    if (bad > 0) this.options.log?.('warning', `${file}: skipped ${bad} malformed record(s) (torn writes)`);
  }

  /** Runs between appends, so no write is in progress. */
  private maybeCompact(): void {
    if (this.tail === 0) return;
    if (this.index.lines === 0) {
      this.closeReader();
      unlinkIfExists(this.options.file);
      fsyncDir(path.dirname(this.options.file));
      this.tail = 0;
    } else if (this.tail >= this.compactMinBytes && this.index.liveBytes * 2 <= this.tail) {
      this.rewrite();
    }
  }

  private rewrite(): void {
    const { file, tempFile } = this.options;
    const source = this.reader();
    const moved: Array<readonly [Entry, number]> = [];
    const fd = fs.openSync(tempFile, 'w', 0o640);
    let position = 0;
    const write = (bytes: Buffer): void => {
      fs.writeSync(fd, bytes);
      position += bytes.length;
    };
    try {
      for (const [key, queue] of this.index.keys) {
        if (queue.pending === 0) continue;
        if (queue.attempts > 0 || queue.dueMs > 0) write(Buffer.from(stateRecord(key, queue.attempts, queue.dueMs), 'latin1'));
        const written = queue.writtenHead(queue.pending);
        for (const [start, end, run] of contiguousRuns(written)) {
          for (const entry of run) moved.push([entry, position + entry.offset - start]);
          write(readRange(source, start, end - start));
        }
      }
      fs.fdatasyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tempFile, file);
    fsyncDir(path.dirname(file));
    for (const [entry, offset] of moved) entry.offset = offset;
    this.index.liveBytes = moved.reduce((sum, [entry]) => sum + entry.length, 0);
    this.tail = position;
    this.closeReader();
    this.options.log?.('info', `${file}: compacted to ${position} bytes`);
  }

  private reader(): number {
    if (this.readFd < 0) this.readFd = fs.openSync(this.options.file, 'r');
    return this.readFd;
  }

  private closeReader(): void {
    if (this.readFd >= 0) fs.closeSync(this.readFd);
    this.readFd = -1;
  }
}
