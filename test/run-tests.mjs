#!/usr/bin/env node
// Runs every uvu suite under test/ (files named *.test.ts) through tsx, one
// process per file so a crash in one suite can't hide the others, and prints
// the closing line CI reads: "N passed, N failed, N skipped".
// Exit is non-zero on any failure, on a crash, or when no test ran.
// A suite skips a test by calling skip() from test/support/skip.ts, which
// prints the reason and records it in SYNCMUX_SKIP_FILE.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { stripVTControlCharacters } from 'node:util';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const filter = process.argv[2] ? new RegExp(process.argv[2]) : null;

function findTests(dir) {
  const out = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...findTests(full));
    else if (entry.name.endsWith('.test.ts')) out.push(full);
  }
  return out.sort();
}

const files = findTests(path.join(root, 'test')).filter((f) => !filter || filter.test(f));
let passed = 0, failed = 0, skipped = 0;
const crashed = [];
for (const file of files) {
  const skipFile = path.join(os.tmpdir(), `syncmux-skips-${process.pid}-${path.basename(file)}`);
  fs.rmSync(skipFile, { force: true });
  const started = Date.now();
  const result = spawnSync(process.execPath, ['--import', 'tsx', file], {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, FORCE_COLOR: '0', NO_COLOR: '1', SYNCMUX_SKIP_FILE: skipFile },
    maxBuffer: 256 * 1024 * 1024,
  });
  const out = stripVTControlCharacters((result.stdout ?? '') + (result.stderr ?? ''));
  process.stdout.write(`\n== ${path.relative(root, file)} (${Date.now() - started} ms)\n${out}`);
  const total = Number(/Total:\s+(\d+)/.exec(out)?.[1] ?? NaN);
  const ok = Number(/Passed:\s+(\d+)/.exec(out)?.[1] ?? NaN);
  const skips = fs.existsSync(skipFile) ? fs.readFileSync(skipFile, 'utf8').split('\n').filter(Boolean).length : 0;
  fs.rmSync(skipFile, { force: true });
  if (Number.isNaN(total) || Number.isNaN(ok)) {
    crashed.push(path.relative(root, file));
    failed += 1;
    continue;
  }
  // uvu counts a skipped test (returned early) as passed; move it to skipped.
  passed += ok - skips;
  skipped += skips;
  failed += total - ok;
  if (result.status !== 0 && total === ok) {
    crashed.push(path.relative(root, file));
    failed += 1;
  }
}
if (crashed.length) console.log(`\ncrashed or exited non-zero: ${crashed.join(', ')}`);
if (passed + failed === 0) console.error('no test ran');
console.log(`\n${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(failed > 0 || passed + failed === 0 ? 1 : 0);
