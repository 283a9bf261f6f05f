/**
 * Builds bench/e2e/slow-fsync.c into a shared object the replica's Cyrus
 * processes preload, and gives the environment that turns it on. The e2e
 * bench uses it for the rows with slower storage; nothing else does.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const source = path.join(path.dirname(new URL(import.meta.url).pathname), 'slow-fsync.c');

/** Compiles the shim into `dir` (which cyrus must be able to read) and returns the replica's extra environment. */
export function slowFsyncEnv(dir: string, delayUs: number): Record<string, string> {
  const library = path.join(dir, 'slow-fsync.so');
  const cc = spawnSync('cc', ['-O2', '-shared', '-fPIC', '-o', library, source, '-ldl'], { encoding: 'utf8' });
  if (cc.error || cc.status !== 0) throw new Error(`cannot build the fsync shim: ${cc.error?.message ?? cc.stderr}`);
  fs.chmodSync(library, 0o755);
  return { LD_PRELOAD: library, SYNCMUX_BENCH_FSYNC_DELAY_US: String(delayUs) };
}
