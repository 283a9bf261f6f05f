/**
 * Helpers for the signal tests: stop a child and measure how long it takes
 * to exit; hold a Cyrus lock from another process, as a stuck Cyrus writer
 * or tool would.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { sleep } from './daemon.js';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', '..');

/** Sends `signal` and resolves with the exit code (or signal name) and the milliseconds it took. */
export async function stopTimed(child: ChildProcess, exited: Promise<number | string | null>, signal: NodeJS.Signals = 'SIGTERM'): Promise<{ code: number | string | null; ms: number }> {
  const t0 = Date.now();
  child.kill(signal);
  const code = await exited;
  return { code, ms: Date.now() - t0 };
}

/** A child process holding an exclusive OFD lock on `file` (created if missing) until release(). */
export async function holdLock(file: string): Promise<{ release: () => Promise<void> }> {
  const script = `
    import { LockFile } from ${JSON.stringify(path.join(root, 'src', 'native', 'index.ts'))};
    const lock = new LockFile(process.argv[1], { write: true, create: true });
    lock.lockSync('exclusive');
    process.stdout.write('locked\\n');
    process.stdin.on('end', () => process.exit(0));
    process.stdin.resume();
  `;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script, file], { cwd: root, stdio: ['pipe', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (c: Buffer) => c.toString().includes('locked') && resolve());
    child.on('exit', (code) => reject(new Error(`lock holder exited ${code}`)));
  });
  const gone = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  return {
    release: async () => {
      child.stdin!.end();
      await Promise.race([gone, sleep(5000).then(() => child.kill('SIGKILL'))]);
    },
  };
}
