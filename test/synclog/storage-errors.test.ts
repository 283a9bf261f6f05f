/**
 * The watch-mode splitter on a disk that fails (ENOSPC, EIO): it keeps what
 * it already took in log-run, takes no new `log` while it cannot write,
 * says so once, and resumes by itself; nothing is lost. (The real disk-full
 * case, on a small tmpfs under real Cyrus, is test/cli/syncmux-disk-full.)
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import path from 'node:path';
import { appendLog } from '../../src/native/index.js';
import { runSplitter } from '../../src/synclog/index.js';
import { checkSplit, generateLog, logText, removeDir, shardLines, tempChannel } from './fixtures/channel-helpers.js';

async function until(ok: () => boolean, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
}

for (const code of ['EIO', 'ENOSPC']) {
  test(`${code}: log-run is kept, no new log is taken, one report, then it resumes by itself`, async () => {
    const dir = tempChannel();
    try {
      const first = generateLog(7, 200, { users: 20, tag: 'a' }).lines;
      const second = generateLog(8, 50, { users: 20, tag: 'b' }).lines;
      await appendLog(path.join(dir, 'log'), logText(first));
      let failing = true;
      let failures = 0;
      const reports: Array<string | null> = [];
      const controller = new AbortController();
      const running = runSplitter({
        channelDir: dir, shards: 3, pollMs: 20, batchLines: 20, signal: controller.signal,
        onBatch: () => {
          if (!failing) return;
          failures++;
          throw Object.assign(new Error(`${code}: injected`), { code });
        },
        onStorageError: (error) => reports.push(error ? error.message : null),
      });
      await until(() => failures >= 3, 10_000);
      // Cyrus keeps appending to a new log; it must stay there while log-run cannot be split.
      await appendLog(path.join(dir, 'log'), logText(second));
      await new Promise((r) => setTimeout(r, 1200));
      assert.ok(fs.existsSync(path.join(dir, 'log-run')), 'log-run kept');
      assert.ok(fs.existsSync(path.join(dir, 'log')), 'no new hand-off while failing');
      assert.equal(reports, [`${code}: injected`]);
      failing = false;
      await until(() => !fs.existsSync(path.join(dir, 'log')) && !fs.existsSync(path.join(dir, 'log-run')), 15_000);
      controller.abort();
      await running;
      assert.equal(reports, [`${code}: injected`, null]);
      checkSplit([...first, ...second], shardLines(dir, 3), { allowDuplicates: true });
    } finally {
      removeDir(dir);
    }
  });
}

test('other errors still stop the splitter', async () => {
  const dir = tempChannel();
  try {
    await appendLog(path.join(dir, 'log'), logText(generateLog(9, 10).lines));
    const run = runSplitter({ channelDir: dir, shards: 2, pollMs: 20, onBatch: () => { throw Object.assign(new Error('EINVAL: nope'), { code: 'EINVAL' }); } });
    const outcome = await run.then(() => 'resolved', (error: Error) => error.message);
    assert.match(outcome, /EINVAL/);
  } finally {
    removeDir(dir);
  }
});

test.run();
