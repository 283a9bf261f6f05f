/**
 * Sync-log splitter throughput: a generated, realistic backlog (APPEND,
 * MAILBOX, SEEN, SUB and a few RENAME/USER/QUOTA lines, 10k users, a fifth of
 * them in a virtual domain, some quoted names) split into N shard logs with
 * group commit; next to it the raw rate of just streaming the lines, the CPU
 * rate of routing without writing, and the peak RSS of a child process that
 * splits a 10M-line backlog (memory must stay flat whatever the backlog);
 * the RSS children run plain node on the built dist/, as the CLIs do
 * (bench/rss-child.mjs).
 * Last, the drop-in's unsharded pass over the same backlog as one log-run:
 * it reads the file in chunks and groups it per user, keeping a repeated
 * line once, so its memory follows the distinct lines, not the backlog.
 *
 * Runs under `npm run bench`, or alone: node --import tsx bench/split.bench.ts
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { BatchSplitter } from '../src/synclog/batch-splitter.js';
import { LineReader } from '../src/synclog/line-reader.js';
import { quoteArg } from '../src/synclog/line.js';
import { splitOnce } from '../src/synclog/splitter.js';
import { newSplitStats } from '../src/synclog/stats.js';

type Row = Record<string, string | number>;

const USERS = 10_000;
const THROUGHPUT_LINES = 1_000_000;
const BACKLOG_LINES = 10_000_000;

// Folders per line, weighted towards INBOX; one needs quoting, one is mUTF-7.
const FOLDERS = ['', '', '', '.Sent', '.Drafts', '.Trash', '.Archive.2024', '.My Folder', '.Caf&AOk-', '.#sieve'];

/** Writes `count` realistic lines to `file`; returns its size in bytes. */
export function writeRealisticLog(file: string, count: number, seed = 1): number {
  let state = seed >>> 0;
  const random = (): number => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 4294967296;
  };
  const fd = fs.openSync(file, 'w');
  let size = 0;
  try {
    let chunk: string[] = [];
    for (let i = 0; i < count; i++) {
      const user = Math.floor(random() * USERS);
      const inDomain = user % 5 === 0;
      const mailbox = `${inDomain ? `d${user % 50}.example.com!` : ''}user.u${user}`;
      const userid = inDomain ? `u${user}@d${user % 50}.example.com` : `u${user}`;
      const folder = FOLDERS[Math.floor(random() * FOLDERS.length)]!;
      const pick = random();
      let line: string;
      const name = quoteArg(mailbox + folder); // "…" when the folder has a space
      if (pick < 0.3) line = `APPEND ${name}`;
      else if (pick < 0.75) line = `MAILBOX ${name}`;
      else if (pick < 0.87) line = `SEEN ${userid} ${(user * 2654435761).toString(36)}x${folder.length}`;
      else if (pick < 0.97) line = `SUB ${userid} ${name}`;
      else if (pick < 0.985) line = `RENAME ${mailbox}.Old ${random() < 0.3 ? `user.u${Math.floor(random() * USERS)}.New` : `${mailbox}.New`}`;
      else if (pick < 0.993) line = `USER ${userid}`;
      else line = `QUOTA ${mailbox}`;
      chunk.push(line);
      if (chunk.length === 50_000) {
        size += fs.writeSync(fd, `${chunk.join('\n')}\n`);
        chunk = [];
      }
    }
    if (chunk.length > 0) size += fs.writeSync(fd, `${chunk.join('\n')}\n`);
  } finally {
    fs.closeSync(fd);
  }
  return size;
}

async function timeSplit(logFile: string, lines: number, bytes: number, shards: number): Promise<Row> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'syncmux-bench-split-'));
  try {
    fs.linkSync(logFile, path.join(dir, 'log')); // the splitter renames and unlinks it; our copy stays
    const started = performance.now();
    const stats = await splitOnce({ channelDir: dir, shards });
    const seconds = (performance.now() - started) / 1000;
    return {
      what: `split, N=${shards}, group commit`,
      lines,
      'lines/s': Math.round(stats.linesIn / seconds),
      'MB/s': +(bytes / 1e6 / seconds).toFixed(1),
      notes: `${stats.batches} batches, ${stats.fsyncs} fsyncs, ${stats.barriers} barriers, ${stats.quarantined} quarantined`,
    };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function timeRead(logFile: string, lines: number, bytes: number): Promise<Row> {
  const started = performance.now();
  const reader = await LineReader.open(logFile);
  let count = 0;
  for (let batch = await reader.next(); batch !== null; batch = await reader.next()) count += batch.count;
  await reader.close();
  const seconds = (performance.now() - started) / 1000;
  if (count !== lines) throw new Error(`read ${count} lines, expected ${lines}`);
  return { what: 'stream lines only (read + find LF)', lines, 'lines/s': Math.round(count / seconds), 'MB/s': +(bytes / 1e6 / seconds).toFixed(1), notes: '' };
}

async function timeRoute(logFile: string, lines: number, bytes: number, shards: number): Promise<Row> {
  const splitter = new BatchSplitter(shards);
  const stats = newSplitStats(shards);
  const reader = await LineReader.open(logFile);
  const started = performance.now();
  for (let batch = await reader.next(); batch !== null; batch = await reader.next()) splitter.split(batch, stats, () => 1);
  const seconds = (performance.now() - started) / 1000;
  await reader.close();
  return { what: `read + parse + route + copy, N=${shards}, no writes`, lines, 'lines/s': Math.round(stats.linesIn / seconds), 'MB/s': +(bytes / 1e6 / seconds).toFixed(1), notes: '' };
}

/** The plain-node child (bench/rss-child.mjs) on the built dist/, or why it cannot run. */
const rssChildScript = fileURLToPath(new URL('./rss-child.mjs', import.meta.url));
const distBuilt = (): boolean => fs.existsSync(fileURLToPath(new URL('../dist/engine/log-groups.js', import.meta.url)));

function runRssChild<T>(args: string[]): T {
  const child = spawnSync(process.execPath, [rssChildScript, ...args], { encoding: 'utf8' });
  if (child.status !== 0) throw new Error(`RSS child failed: ${child.stderr}`);
  return JSON.parse(child.stdout.trim().split('\n').pop()!) as T;
}

function dropInPassRss(): Row {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'syncmux-bench-backlog-'));
  try {
    const file = path.join(dir, 'log-run');
    const bytes = writeRealisticLog(file, BACKLOG_LINES, 2);
    const r = runRssChild<{ maxRssKiB: number; groupedRssKiB: number; lines: number; kept: number; groups: number; seconds: number }>(['group', file]);
    return {
      what: 'drop-in pass over a 10M-line log-run (group, then every batch to an instant replicator), child process',
      lines: r.lines,
      'lines/s': Math.round(r.lines / r.seconds),
      'MB/s': +(bytes / 1e6 / r.seconds).toFixed(1),
      notes: `peak RSS ${(r.groupedRssKiB / 1024).toFixed(0)} MB grouped, ${(r.maxRssKiB / 1024).toFixed(0)} MB at the end (file ${(bytes / 1e6).toFixed(0)} MB); ${r.kept} lines kept in ${r.groups} batches`,
    };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function backlogRss(shards: number): Row {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'syncmux-bench-backlog-'));
  try {
    const bytes = writeRealisticLog(path.join(dir, 'log'), BACKLOG_LINES, 2);
    const result = runRssChild<{ maxRssKiB: number; lines: number; seconds: number }>(['split', dir, String(shards)]);
    return {
      what: `10M-line backlog, N=${shards}, child process`,
      lines: result.lines,
      'lines/s': Math.round(result.lines / result.seconds),
      'MB/s': +(bytes / 1e6 / result.seconds).toFixed(1),
      notes: `peak RSS ${(result.maxRssKiB / 1024).toFixed(0)} MB (whole process)`,
    };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

export async function benchSplit(): Promise<Row[]> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'syncmux-bench-log-'));
  try {
    const logFile = path.join(dir, 'log');
    const bytes = writeRealisticLog(logFile, THROUGHPUT_LINES);
    await timeSplit(logFile, THROUGHPUT_LINES, bytes, 4); // warm-up: JIT and page cache
    const rows: Row[] = [
      await timeRead(logFile, THROUGHPUT_LINES, bytes),
      await timeRoute(logFile, THROUGHPUT_LINES, bytes, 8),
      await timeSplit(logFile, THROUGHPUT_LINES, bytes, 4),
      await timeSplit(logFile, THROUGHPUT_LINES, bytes, 8),
    ];
    if (distBuilt()) rows.push(backlogRss(8), dropInPassRss());
    else rows.push({ what: '10M-line backlog RSS rows', skipped: 'needs the built dist/ (npm run build): they measure the code as the CLIs run it' });
    return rows;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const invokedDirectly = process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (invokedDirectly) {
  console.table(await benchSplit());
}
