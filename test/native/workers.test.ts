import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Worker } from 'node:worker_threads';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { hash64, LockFile } from '../../src/native/index.js';

const nativeUrl = new URL('../../src/native/index.ts', import.meta.url).href;

// Workers can't start .ts files directly under tsx on Node 20; this eval
// bootstrap registers tsx inside the worker first.
function startWorker(body: string, workerData: unknown): Worker {
  const source = `import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${JSON.stringify(nativeUrl)}); }).then(async (native) => { const { parentPort, workerData } = await import('node:worker_threads'); ${body} });`;
  return new Worker(source, { eval: true, workerData });
}

test('the addon loads in several workers at once and they append concurrently', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'syncmux-workers-'));
  const file = path.join(dir, 'log');
  const results = await Promise.all([0, 1, 2, 3].map((id) => new Promise<{ hash: string; id: number }>((resolve, reject) => {
    const w = startWorker(`
      for (let i = 0; i < 100; i++) await native.appendLog(workerData.file, 'W' + workerData.id + ' ' + i + '\\n');
      parentPort.postMessage({ id: workerData.id, hash: native.hash64('user.tom').toString(16) });
    `, { file, id });
    w.once('message', resolve);
    w.once('error', reject);
  })));
  for (const r of results) assert.is(r.hash, hash64('user.tom').toString(16));
  const lines = fs.readFileSync(file, 'utf8').trim().split('\n');
  assert.is(lines.length, 400);
  for (let id = 0; id < 4; id++) {
    const mine = lines.filter((l) => l.startsWith(`W${id} `)).map((l) => Number(l.split(' ')[1]));
    assert.equal(mine, Array.from({ length: 100 }, (_, i) => i));
  }
  fs.rmSync(dir, { recursive: true });
});

test('terminate() is not held up by a worker waiting on a lock, once it cancels', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'syncmux-workers-'));
  const file = path.join(dir, 'lock');
  fs.writeFileSync(file, '');
  const holder = new LockFile(file, { write: true });
  assert.ok(holder.tryLock('exclusive'));
  const w = startWorker(`
    parentPort.on('message', () => native.cancelPending());
    parentPort.postMessage('waiting');
    // An append waits on the pool for the file's lock, as a shard's does for a busy log.
    const outcome = await native.appendLog(workerData.file, 'x\\n', { timeoutMs: 60000 }).then(() => 'locked', (e) => e.code);
    parentPort.postMessage(outcome);
    parentPort.close();
  `, { file });
  const messages: string[] = [];
  w.on('message', (m: string) => messages.push(m));
  while (!messages.includes('waiting')) await new Promise((r) => setTimeout(r, 10));
  await new Promise((r) => setTimeout(r, 50));
  const started = Date.now();
  w.postMessage('shutdown');
  const code = await new Promise<number>((resolve) => w.once('exit', resolve));
  assert.ok(Date.now() - started < 2000, 'worker exited promptly');
  assert.equal(messages, ['waiting', 'ECANCELED']);
  assert.is(code, 0);
  holder.close();
  fs.rmSync(dir, { recursive: true });
});

test.run();
