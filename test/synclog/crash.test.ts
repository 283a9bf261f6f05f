import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { handOffLogSync } from '../../src/native/index.js';
import { channelFiles, parseQuarantineRecord, splitOnce } from '../../src/synclog/index.js';
import { checkSplit, fileLines, generateLog, removeDir, rng, tempChannel } from './fixtures/channel-helpers.js';

const fixtures = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures');
const SHARDS = 3;
const BATCH_LINES = 40;
const LINES = 40_000;
const SEED = 7;

function startChild(script: string, args: string[]): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', path.join(fixtures, script), ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
}

/** A stand-in shard worker: takes log.<i> over as Cyrus's reader would and keeps what it read. */
function consumeShards(dir: string): void {
  for (let i = 0; i < SHARDS; i++) {
    const log = path.join(dir, `log.${i}`);
    const run = path.join(dir, `log-run.${i}`);
    if (handOffLogSync(log, run, 10_000) === 'empty') continue;
    // As the shard runner does, a last line without its LF (a torn write) is not acted on.
    const data = fs.readFileSync(run);
    fs.appendFileSync(path.join(dir, `consumed.${i}`), data.subarray(0, data.lastIndexOf(0x0a) + 1));
    fs.unlinkSync(run);
  }
}

test('kill -9 of the splitter at random moments, while Cyrus-style writers append: no line lost or joined to another, per-user order kept', async () => {
  const dir = tempChannel();
  const random = rng(SEED);
  const children = new Set<ChildProcess>();
  try {
    const writer = startChild('writer-child.ts', [dir, String(SEED), String(LINES)]);
    children.add(writer);
    let writerDone = false;
    const writerExit = once(writer, 'exit').then(([code]) => {
      writerDone = true;
      return code as number | null;
    });
    const consumer = setInterval(() => consumeShards(dir), 25);
    let kills = 0;
    try {
      while (!writerDone) {
        const splitter = startChild('split-child.ts', [dir, String(SHARDS), String(BATCH_LINES)]);
        children.add(splitter);
        await once(splitter.stdout!, 'data');
        await new Promise((resolve) => setTimeout(resolve, random() * 300));
        splitter.kill('SIGKILL');
        await once(splitter, 'exit');
        children.delete(splitter);
        kills++;
      }
    } finally {
      clearInterval(consumer);
    }
    assert.is(await writerExit, 0, 'the writer finished');
    children.delete(writer);
    assert.ok(kills >= 3, `only ${kills} kills`);

    // Restart once more and let it finish, as a supervisor would.
    await splitOnce({ channelDir: dir, shards: SHARDS, batchLines: BATCH_LINES });
    consumeShards(dir);
    const files = channelFiles(dir);
    for (const leftover of [files.log, files.run, files.checkpoint]) assert.not.ok(fs.existsSync(leftover), leftover);

    const { lines, malformed } = generateLog(SEED, LINES, { users: 12 });
    const output = Array.from({ length: SHARDS }, (_, i) => fileLines(path.join(dir, `consumed.${i}`)));
    const check = checkSplit(lines, output, { allowDuplicates: true });
    // Each kill can replay at most the one batch that was in flight.
    assert.ok(check.duplicates <= kills * BATCH_LINES, `${check.duplicates} duplicates after ${kills} kills`);
    assert.ok(check.barriers > 0);
    const quarantined = new Set(
      fs.readFileSync(files.quarantine).toString('latin1').split('\n').slice(0, -1)
        .map((record) => parseQuarantineRecord(Buffer.from(record, 'latin1'))!.line.toString('latin1')),
    );
    for (const line of malformed) assert.ok(quarantined.has(line), `quarantined: ${line}`);
    console.log(`  ${kills} kills, ${check.duplicates} duplicate lines, ${check.barriers} barrier lines`);
  } finally {
    for (const child of children) child.kill('SIGKILL');
    removeDir(dir);
  }
});

test.run();
