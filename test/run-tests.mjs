#!/usr/bin/env node
// Runs every uvu suite under test/ (files named *.test.ts) through tsx, one
// process per file so a crash in one suite can't hide the others, then the
// Cyrus version matrix (test/cyrus-matrix.mjs: the replication flows again
// per master -> replica build pair), and prints the closing line CI reads:
// "N passed, N failed, N skipped", over every run.
// Exit is non-zero on any failure, on a crash, or when no test ran.
// A suite skips a test by calling skip() from test/support/skip.ts, which
// prints the reason and records it in SYNCMUX_SKIP_FILE.
// `node test/run-tests.mjs <regex>` runs the files whose path under the
// repository matches, in the matrix too.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { stripVTControlCharacters } from 'node:util';
import { CYRUS_PAIRS, FLOW_SUITES } from './cyrus-matrix.mjs';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const filter = process.argv[2] ? new RegExp(process.argv[2]) : null;
const RELEASES = { '3.6': '3.6.1', '3.10': '3.10.1' };
// A last resort, far above any suite's runtime: a hung suite (a child it
// never stopped keeps it alive) must not hang CI. It counts as a crash.
const FILE_TIMEOUT_MS = 15 * 60_000;

function findTests(dir) {
  const out = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...findTests(full));
    else if (entry.name.endsWith('.test.ts')) out.push(path.relative(root, full));
  }
  return out.sort();
}

const pairLabel = (master, replica) => `Cyrus ${RELEASES[master] ?? master} -> ${RELEASES[replica] ?? replica}`;

/** Runs one suite file in its own process; returns its counts. */
function runFile(file, label, extraEnv) {
  const skipFile = path.join(os.tmpdir(), `syncmux-skips-${process.pid}-${path.basename(file)}`);
  fs.rmSync(skipFile, { force: true });
  const started = Date.now();
  const result = spawnSync(process.execPath, ['--import', 'tsx', file], {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, ...extraEnv, FORCE_COLOR: '0', NO_COLOR: '1', SYNCMUX_SKIP_FILE: skipFile },
    maxBuffer: 256 * 1024 * 1024,
    timeout: FILE_TIMEOUT_MS,
  });
  let out = stripVTControlCharacters((result.stdout ?? '') + (result.stderr ?? ''));
  if (result.error?.code === 'ETIMEDOUT') out += `\nTIMEOUT: killed after ${FILE_TIMEOUT_MS / 60_000} min\n`;
  process.stdout.write(`\n== ${file} [${label}] (${Date.now() - started} ms)\n${out}`);
  const total = Number(/Total:\s+(\d+)/.exec(out)?.[1] ?? NaN);
  const ok = Number(/Passed:\s+(\d+)/.exec(out)?.[1] ?? NaN);
  const skips = fs.existsSync(skipFile) ? fs.readFileSync(skipFile, 'utf8').split('\n').filter(Boolean).length : 0;
  fs.rmSync(skipFile, { force: true });
  if (Number.isNaN(total) || Number.isNaN(ok) || result.error) return { passed: 0, failed: 1, skipped: 0, crashed: true, ms: Date.now() - started };
  // uvu counts a skipped test (returned early) as passed; move it to skipped.
  const crashed = result.status !== 0 && total === ok;
  return { passed: ok - skips, failed: total - ok + (crashed ? 1 : 0), skipped: skips, crashed, ms: Date.now() - started };
}

const files = findTests(path.join(root, 'test')).filter((f) => !filter || filter.test(f));
const runs = [];
const env = process.env;
const baseLabel = pairLabel(env.SYNCMUX_CYRUS_MASTER || env.SYNCMUX_CYRUS || '3.6', env.SYNCMUX_CYRUS_REPLICA || env.SYNCMUX_CYRUS || '3.6');
for (const file of files) runs.push({ file, label: baseLabel, ...runFile(file, baseLabel, {}) });

const matrixOff = /^(off|0|no|false)$/i.test(env.SYNCMUX_CYRUS_MATRIX ?? '');
const flows = FLOW_SUITES.filter((f) => files.includes(f));
const notes = [];
for (const pair of CYRUS_PAIRS) {
  const label = pairLabel(pair.master, pair.replica);
  if (!flows.length) continue;
  if (matrixOff || !pair.enabled) {
    notes.push(`${label}: flows not run (${matrixOff ? 'SYNCMUX_CYRUS_MATRIX=off' : 'disabled in test/cyrus-matrix.mjs'})`);
    continue;
  }
  const pairEnv = { SYNCMUX_CYRUS_MASTER: pair.master, SYNCMUX_CYRUS_REPLICA: pair.replica };
  for (const file of flows) runs.push({ file, label, ...runFile(file, label, pairEnv) });
}

const sum = (rs, k) => rs.reduce((n, r) => n + r[k], 0);
console.log('');
for (const label of [...new Set(runs.map((r) => r.label))]) {
  const rs = runs.filter((r) => r.label === label);
  console.log(`${label}: ${rs.length} files, ${sum(rs, 'passed')} passed, ${sum(rs, 'failed')} failed, ${sum(rs, 'skipped')} skipped, ${Math.round(sum(rs, 'ms') / 1000)} s`);
}
for (const note of notes) console.log(note);
const crashed = runs.filter((r) => r.crashed).map((r) => `${r.file} [${r.label}]`);
if (crashed.length) console.log(`\ncrashed or exited non-zero: ${crashed.join(', ')}`);
const passed = sum(runs, 'passed'), failed = sum(runs, 'failed'), skipped = sum(runs, 'skipped');
if (passed + failed === 0) console.error('no test ran');
console.log(`\n${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(failed > 0 || passed + failed === 0 ? 1 : 0);
