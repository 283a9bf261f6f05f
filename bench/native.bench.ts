/**
 * Addon micro-benchmarks: shard hashing (ours vs xxhash-addon, single call
 * vs batch) and durable appends (per-line fdatasync vs group commit, addon vs
 * node:fs). Numbers are medians of a few rounds; compare runs only on one machine.
 */
import { createRequire } from 'node:module';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { appendLog, hash64, shardOf, shardOfLines } from '../src/native/index.js';

type Row = Record<string, string | number>;

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function timeNs(rounds: number, fn: () => number): number {
  const samples: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const start = process.hrtime.bigint();
    const ops = fn();
    samples.push(Number(process.hrtime.bigint() - start) / ops);
  }
  return median(samples);
}

function makeKeys(count: number): string[] {
  return Array.from({ length: count }, (_, i) => (i % 3 === 0 ? `user${i}@example${i % 17}.com` : `user${i}`));
}

export function benchHash(): Row[] {
  const require = createRequire(import.meta.url);
  const { XXHash3 } = require('xxhash-addon') as { XXHash3: { hash(b: Buffer): Buffer } };
  const keys = makeKeys(200_000);
  const joined = Buffer.from(keys.join('\n'));
  let sink = 0;
  const rows: Row[] = [];
  const add = (what: string, ns: number) => rows.push({ bench: 'hash', what, 'ns/key': ns.toFixed(1) });
  add('ours shardOf(str, n), one call per key', timeNs(5, () => { for (const k of keys) sink += shardOf(k, 8); return keys.length; }));
  add('ours hash64(str) → bigint', timeNs(5, () => { for (const k of keys) sink += Number(hash64(k) & 1n); return keys.length; }));
  add('ours shardOfLines(batch of 200k keys)', timeNs(5, () => { sink += shardOfLines(joined, 8).length; return keys.length; }));
  add('ours shardOfLines incl. joining the keys', timeNs(5, () => { sink += shardOfLines(Buffer.from(keys.join('\n')), 8).length; return keys.length; }));
  add('xxhash-addon XXHash3.hash(Buffer.from(str))', timeNs(5, () => { for (const k of keys) sink += XXHash3.hash(Buffer.from(k))[7]!; return keys.length; }));
  if (sink === -1) console.log(sink);
  return rows;
}

async function appendRate(label: string, lines: number, batch: number, write: (file: string, chunk: string[]) => void | Promise<unknown>): Promise<Row> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'syncmux-bench-'));
  const file = path.join(dir, 'log');
  const line = `APPEND user.bench${'x'.repeat(60)}\n`;
  const chunk = Array.from({ length: batch }, () => line);
  const start = process.hrtime.bigint();
  for (let i = 0; i < lines; i += batch) await write(file, chunk);
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  fs.rmSync(dir, { recursive: true });
  return { bench: 'durable append', what: label, 'lines/s': Math.round(lines / seconds), 'µs/line': ((seconds * 1e6) / lines).toFixed(2) };
}

function nodeFsAppend(file: string, chunk: string[]): void {
  const fd = fs.openSync(file, fs.constants.O_WRONLY | fs.constants.O_APPEND | fs.constants.O_CREAT, 0o640);
  fs.writevSync(fd, chunk.map((l) => Buffer.from(l)));
  fs.fdatasyncSync(fd);
  fs.closeSync(fd);
}

/** The addon's append as the splitter and shards use it (on the pool), against node:fs without the lock. */
export async function benchAppend(): Promise<Row[]> {
  return [
    await appendRate('addon, fdatasync per line (Cyrus protocol)', 2000, 1, (f, c) => appendLog(f, c)),
    await appendRate('node:fs open+writev+fdatasync per line (no lock)', 2000, 1, nodeFsAppend),
    await appendRate('addon, group commit 100 lines', 100_000, 100, (f, c) => appendLog(f, c)),
    await appendRate('node:fs, group commit 100 lines (no lock)', 100_000, 100, nodeFsAppend),
    await appendRate('addon, group commit 4096 lines', 1_000_000, 4096, (f, c) => appendLog(f, c)),
    await appendRate('node:fs, group commit 4096 lines (no lock)', 1_000_000, 4096, nodeFsAppend),
  ];
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.table(benchHash());
  console.table(await benchAppend());
}
