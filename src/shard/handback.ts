/**
 * Handing a channel back from `syncmux run` to a client that reads only
 * `log` and `log-run` (stock sync_client -r, syncmux-client -r), or to
 * `syncmux run` with another shard count: every line the daemon still holds
 * (retry journals, shard logs, the splitter's own log-run) and the current
 * `log` become one `log-run`, in an order that keeps each user's lines in
 * theirs (a user's journaled lines, then its shard's log-run and log, then
 * the splitter's log-run, then `log`). Both stock and syncmux process a
 * `log-run` before taking `log`. BARRIER lines are dropped (they order
 * shards, which the reader no longer has); a last line without LF is not
 * copied (a torn write; its writer replays it).
 *
 * Crash-safe: the new log-run is complete and durable before anything is
 * removed, so a crash replays lines at worst (harmless: replication is
 * state-based). Refuses while a splitter or shard worker holds its lock.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fsyncDir, handOffLog, LockFile } from '../native/index.js';
import {
  channelFiles,
  isBarrierLine,
  type ChannelFiles,
  SHARD_FILE_PATTERN,
  recordedShardCount,
  LINE_END,
  LineReader,
} from '../synclog/index.js';
import { shardFiles, type ShardFiles } from './files.js';
import { RetryJournal } from './retry-journal.js';
import { printLineText } from './line-text.js';
import { SyncmuxError } from '../errors.js';

export class HandbackError extends SyncmuxError {
  constructor(message: string, options?: ErrorOptions) {
    super('SYNCMUX_HANDBACK', message, options);
  }
}

export interface HandbackResult {
  /** Lines written to log-run. */
  lines: number;
  /** Files emptied into it (and removed). */
  from: string[];
}

export async function handBack(channelDir: string): Promise<HandbackResult> {
  const files = channelFiles(channelDir);
  const shards = shardsPresent(files);
  const locks = takeLocks(files, shards.map((i) => shardFiles(channelDir, i)));
  try {
    const temp = path.join(channelDir, 'log-run.handback.tmp');
    const out = fs.openSync(temp, 'w', 0o640);
    const from: string[] = [];
    let lines = 0;
    const write = (bytes: Buffer): void => {
      fs.writeSync(out, bytes);
    };
    try {
      for (const shard of shards) {
        const sf = shardFiles(channelDir, shard);
        lines += await copyJournal(sf, write, from);
        for (const file of [sf.run, sf.log]) lines += await copyLines(file, write, from);
      }
      lines += await copyLines(files.run, write, from);
      // Cyrus's writers go on appending to a new `log` once this one is taken.
      const taken = path.join(channelDir, 'log.handback.taken');
      if (!fs.existsSync(taken)) await handOffLog(files.log, taken, 30_000); // 'empty': nothing logged since
      lines += await copyLines(taken, write, from);
      fs.fdatasyncSync(out);
    } finally {
      fs.closeSync(out);
    }
    fs.renameSync(temp, files.run);
    fsyncDir(channelDir);
    // Now durable in log-run: remove what it was made of (log-run itself was rewritten in place).
    for (const file of new Set(from)) if (file !== files.run) fs.rmSync(file, { force: true });
    for (const stale of [files.checkpoint, files.shardCount]) fs.rmSync(stale, { force: true });
    fsyncDir(channelDir);
    return { lines, from: [...new Set(from)].map((f) => path.basename(f)) };
  } finally {
    for (const lock of locks) lock.close();
  }
}

/** The shard numbers whose files exist (logs or journals), whatever the recorded count. */
function shardsPresent(files: ChannelFiles): number[] {
  const found = new Set<number>();
  const recorded = recordedShardCount(files);
  for (let i = 0; i < (recorded ?? 0); i++) found.add(i);
  for (const name of fs.readdirSync(files.dir)) {
    const m = SHARD_FILE_PATTERN.exec(name) ?? /^retry\.(\d+)$/.exec(name);
    if (m) found.add(Number(m[1]));
  }
  return [...found].sort((a, b) => a - b);
}

/** The splitter's and every shard's lock, held for the whole hand-back, or a refusal naming the holder. */
function takeLocks(files: ChannelFiles, shards: ShardFiles[]): LockFile[] {
  const held: LockFile[] = [];
  try {
    for (const file of [files.splitterLock, ...shards.map((s) => s.lock)]) {
      const lock = new LockFile(file, { write: true, create: true });
      held.push(lock);
      if (!lock.tryLock('exclusive')) {
        throw new HandbackError(`syncmux run is still running on ${files.dir} (it holds ${file}); stop it first (SIGTERM, or the channel's sync_shutdown_file)`);
      }
    }
    return held;
  } catch (error) {
    for (const lock of held) lock.close();
    throw error;
  }
}

/** Copies a log's whole, LF-ended, non-BARRIER lines; counts them. */
async function copyLines(file: string, write: (text: Buffer) => void, from: string[]): Promise<number> {
  if (!fs.existsSync(file)) return 0;
  from.push(file);
  const reader = await LineReader.open(file);
  let count = 0;
  try {
    for (let batch = await reader.next(); batch !== null; batch = await reader.next()) {
      for (let i = 0; i < batch.count; i++) {
        const start = batch.starts[i]!;
        const end = batch.ends[i]!;
        if (batch.endings[i] !== LINE_END.LF || isBarrierLine(batch.buf, start, end) || end === start) continue;
        write(batch.buf.subarray(start, end + 1));
        count++;
      }
    }
  } finally {
    await reader.close();
  }
  return count;
}

/** Copies each key's pending journal lines, in the order they were queued. */
async function copyJournal(sf: ShardFiles, write: (bytes: Buffer) => void, from: string[]): Promise<number> {
  if (!fs.existsSync(sf.retry)) return 0;
  from.push(sf.retry, sf.retryTemp);
  const journal = await RetryJournal.open({ file: sf.retry, tempFile: sf.retryTemp, log: () => {} });
  let count = 0;
  try {
    for (const [key, queue] of journal.index.keys) {
      for (const line of journal.readHead(key, queue.pending)) {
        write(Buffer.from(`${printLineText(line)}\n`, 'latin1')); // raw bytes, one char each
        count++;
      }
    }
  } finally {
    await journal.close();
  }
  return count;
}
