import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import path from 'node:path';
import { appendLog } from '../../src/native/index.js';
import {
  channelFiles,
  parseBarrierLine,
  parseQuarantineRecord,
  runSplitter,
  ShardCountError,
  splitOnce,
  SplitterBusyError,
  ChannelSplitter,
  shardOfKey,
  type SplitStats,
} from '../../src/synclog/index.js';
import { checkSplit, fileLines, generateLog, logText, removeDir, shardLines, tempChannel } from './fixtures/channel-helpers.js';

function usersOnDifferentShards(shards: number): [string, string] {
  const first = 'a';
  for (let i = 0; ; i++) if (shardOfKey(`b${i}`, shards) !== shardOfKey(first, shards)) return [first, `b${i}`];
}

async function inChannel(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = tempChannel();
  try {
    await fn(dir);
  } finally {
    removeDir(dir);
  }
}

test('a log splits into shards: nothing lost, nothing extra, every user in order', async () => {
  await inChannel(async (dir) => {
    const log = generateLog(1, 3000);
    fs.writeFileSync(path.join(dir, 'log'), logText(log.lines), 'latin1');
    const stats = await splitOnce({ channelDir: dir, shards: 4, batchLines: 97 });
    const files = channelFiles(dir);
    for (const gone of [files.log, files.run, files.checkpoint]) assert.not.ok(fs.existsSync(gone), gone);
    const check = checkSplit(log.lines, shardLines(dir, 4));
    assert.is(check.duplicates, 0);
    assert.ok(check.barriers > 0, 'the log has cross-user lines');
    assert.is(stats.linesIn, log.lines.length);
    assert.is(stats.blankLines, log.blank);
    assert.is(stats.quarantined, log.malformed.length);
    assert.is(stats.barriers * 2, check.barriers);
    assert.is(stats.linesPerShard.reduce((a, b) => a + b, 0), log.lines.length - log.blank - log.malformed.length);
    assert.is(stats.batches, Math.ceil(log.lines.length / 97));
    assert.is(stats.runs, 1);
    assert.is(fs.readFileSync(files.shardCount, 'latin1'), '4\n');
    assert.is(fs.readFileSync(files.barrierRuns, 'latin1'), '1\n');
  });
});

test('quarantine keeps each bad line verbatim with its reason; blank lines are only counted', async () => {
  await inChannel(async (dir) => {
    const bad = ['MAILBOX', 'FROB user.tom', 'MAILBOX  user.tom', 'MAILBOX "user.tom', 'SEEN bob', 'MAILBOX a\tb', 'MAILBOX user\0x', 'MAILBOX {3}'];
    const good = ['MAILBOX user.tom', 'APPEND user.bob', 'MAILBOX "user.tom.caf\xe9 x"'];
    const lines = [good[0]!, ...bad.slice(0, 4), '', good[1]!, ...bad.slice(4), '', good[2]!];
    fs.writeFileSync(path.join(dir, 'log'), logText(lines), 'latin1');
    const stats = await splitOnce({ channelDir: dir, shards: 2 });
    assert.is(stats.quarantined, bad.length);
    assert.is(stats.blankLines, 2);
    const records = fs.readFileSync(channelFiles(dir).quarantine).toString('latin1').split('\n').slice(0, -1);
    assert.is(records.length, bad.length);
    const parsed = records.map((record) => parseQuarantineRecord(Buffer.from(record, 'latin1'))!);
    assert.equal(parsed.map((record) => record.line.toString('latin1')), bad);
    for (const record of parsed) {
      assert.ok(record.reason.length > 0);
      assert.ok(!Number.isNaN(Date.parse(record.time)));
    }
    assert.match(parsed[1]!.reason, /unknown line type/);
    assert.match(parsed[7]!.reason, /literal/);
    assert.is(parsed[0]!.offset, Buffer.byteLength(`${good[0]}\n`));
    checkSplit(lines, shardLines(dir, 2));
  });
});

test('torn and oversized lines', async () => {
  await inChannel(async (dir) => {
    const huge = `MAILBOX user.tom.${'x'.repeat(200_000)}`;
    const big = `MAILBOX user.tom.${'y'.repeat(70_000)}`;
    const text = `MAILBOX user.a\n${huge}\n${big}\nMAILBOX user.b\nMAILBOX user.torn`;
    fs.writeFileSync(path.join(dir, 'log'), text, 'latin1');
    const stats = await splitOnce({ channelDir: dir, shards: 2, batchBytes: 64 * 1024 });
    assert.is(stats.quarantined, 2);
    const all = shardLines(dir, 2).flat();
    assert.equal(all.sort(), ['MAILBOX user.a', 'MAILBOX user.b', 'MAILBOX user.torn']);
    const records = fs.readFileSync(channelFiles(dir).quarantine, 'latin1').split('\n').slice(0, -1);
    assert.match(records[0]!, /line too long \(200017 bytes; kept the first 65536\)/);
    assert.match(records[1]!, /line too long \(70017 bytes/);
  });
  await inChannel(async (dir) => {
    fs.writeFileSync(path.join(dir, 'log'), 'MAILBOX user.a\nMAILBOX "torn', 'latin1');
    await splitOnce({ channelDir: dir, shards: 2 });
    assert.match(fs.readFileSync(channelFiles(dir).quarantine, 'latin1'), /no LF \(torn write\?\)\tMAILBOX "torn\n$/);
  });
});

test('successive logs append in order; a leftover log-run goes first', async () => {
  await inChannel(async (dir) => {
    const first = generateLog(2, 500, { tag: 'a' });
    const second = generateLog(3, 500, { tag: 'b' });
    const third = generateLog(4, 500, { tag: 'c' });
    fs.writeFileSync(path.join(dir, 'log'), logText(first.lines), 'latin1');
    await splitOnce({ channelDir: dir, shards: 3 });
    // A log-run left by a crash (no checkpoint) and a fresh log.
    fs.writeFileSync(path.join(dir, 'log-run'), logText(second.lines), 'latin1');
    fs.writeFileSync(path.join(dir, 'log'), logText(third.lines), 'latin1');
    const stats = await splitOnce({ channelDir: dir, shards: 3 });
    assert.is(stats.reprocessedRuns, 1);
    assert.is(stats.runs, 2);
    checkSplit([...first.lines, ...second.lines, ...third.lines], shardLines(dir, 3));
    const ids = shardLines(dir, 3).flat().map((line) => parseBarrierLine(Buffer.from(line))).filter((b) => b !== null);
    assert.equal([...new Set(ids.map((b) => b.id.run))].sort(), [1, 2, 3]);
  });
});

test('changing the shard count is refused while shard logs hold lines', async () => {
  await inChannel(async (dir) => {
    fs.writeFileSync(path.join(dir, 'log'), 'MAILBOX user.tom\nMAILBOX user.bob\n');
    await splitOnce({ channelDir: dir, shards: 4 });
    fs.writeFileSync(path.join(dir, 'log'), 'MAILBOX user.tom\n');
    try {
      await splitOnce({ channelDir: dir, shards: 8 });
      assert.unreachable('should refuse');
    } catch (error) {
      assert.instance(error, ShardCountError);
      assert.match((error as Error).message, /log\.\d \(\d+ bytes\)/);
      assert.match((error as Error).message, /shards=4/);
    }
    assert.ok(fs.existsSync(path.join(dir, 'log')), 'nothing was taken');
    // Workers drain: one shard log consumed, the rest truncated to nothing.
    for (let i = 0; i < 4; i++) {
      const file = path.join(dir, `log.${i}`);
      if (fs.existsSync(file)) (i === 0 ? fs.rmSync(file) : fs.truncateSync(file));
    }
    await splitOnce({ channelDir: dir, shards: 8 });
    assert.is(fs.readFileSync(path.join(dir, 'shards'), 'latin1'), '8\n');
    checkSplit(['MAILBOX user.tom'], shardLines(dir, 8));
  });
});

test('shard logs from an unrecorded count are refused too', async () => {
  await inChannel(async (dir) => {
    fs.writeFileSync(path.join(dir, 'log-run.2'), 'MAILBOX user.tom\n');
    try {
      await splitOnce({ channelDir: dir, shards: 4 });
      assert.unreachable('should refuse');
    } catch (error) {
      assert.instance(error, ShardCountError);
      assert.match((error as Error).message, /log-run\.2 .*unrecorded/);
    }
  });
});

test('a stop between batches leaves a checkpoint; the restart resumes without duplicates', async () => {
  await inChannel(async (dir) => {
    const log = generateLog(5, 1000);
    fs.writeFileSync(path.join(dir, 'log'), logText(log.lines), 'latin1');
    const controller = new AbortController();
    const first = await splitOnce({
      channelDir: dir,
      shards: 4,
      batchLines: 100,
      signal: controller.signal,
      onBatch: (stats) => stats.batches === 3 && controller.abort(),
    });
    assert.is(first.batches, 3);
    const files = channelFiles(dir);
    assert.ok(fs.existsSync(files.run));
    const offset = Buffer.byteLength(logText(log.lines.slice(0, 300)), 'latin1');
    assert.match(fs.readFileSync(files.checkpoint, 'latin1'), new RegExp(`^offset ${offset}\nbarrier-run 1\n$`));
    const second = await splitOnce({ channelDir: dir, shards: 4, batchLines: 100 });
    assert.is(second.resumedRuns, 1);
    assert.is(second.linesIn, 700);
    assert.is(checkSplit(log.lines, shardLines(dir, 4)).duplicates, 0);
    assert.not.ok(fs.existsSync(files.checkpoint));
  });
});

test('a replayed batch repeats its lines in order and its barriers with the same ids', async () => {
  await inChannel(async (dir) => {
    const [a, b] = usersOnDifferentShards(2);
    const lines = [`MAILBOX user.${a}.1`, `MAILBOX user.${b}.1`, `RENAME user.${a}.x user.${b}.x`, `MAILBOX user.${a}.2`, `MAILBOX user.${b}.2`, `RENAME user.${b}.y user.${a}.y`, `MAILBOX user.${a}.3`];
    fs.writeFileSync(path.join(dir, 'log'), logText(lines), 'latin1');
    const controller = new AbortController();
    await splitOnce({ channelDir: dir, shards: 2, batchLines: 3, signal: controller.signal, onBatch: () => controller.abort() });
    // Simulate a crash after the first batch's appends but before its checkpoint.
    const files = channelFiles(dir);
    const checkpoint = fs.readFileSync(files.checkpoint, 'latin1');
    fs.writeFileSync(files.checkpoint, checkpoint.replace(/^offset \d+/, 'offset 0'));
    await splitOnce({ channelDir: dir, shards: 2, batchLines: 3 });
    const output = shardLines(dir, 2);
    const check = checkSplit(lines, output, { allowDuplicates: true });
    assert.ok(check.duplicates >= 2);
    const barrierLines = output.flat().filter((line) => line.startsWith('BARRIER '));
    const distinct = new Set(barrierLines);
    assert.is(distinct.size, 2, 'two barriers, the first written twice per shard with the same id');
    assert.is(barrierLines.length, 6);
  });
});

test('a second splitter on the same channel is refused', async () => {
  await inChannel(async (dir) => {
    const first = ChannelSplitter.open({ channelDir: dir, shards: 2 });
    try {
      assert.throws(() => ChannelSplitter.open({ channelDir: dir, shards: 2 }), (error: unknown) => error instanceof SplitterBusyError);
    } finally {
      first.close();
    }
    ChannelSplitter.open({ channelDir: dir, shards: 2 }).close();
  });
});

async function until(condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

test('watch mode wakes on the log within milliseconds and stops on abort', async () => {
  await inChannel(async (dir) => {
    const controller = new AbortController();
    let stats: SplitStats | undefined;
    const running = runSplitter({ channelDir: dir, shards: 2, pollMs: 10_000, signal: controller.signal }).then((s) => (stats = s));
    await new Promise((resolve) => setTimeout(resolve, 50));
    const log = path.join(dir, 'log');
    const latencies: number[] = [];
    for (let i = 0; i < 5; i++) {
      const line = `MAILBOX user.w${i}`;
      const started = performance.now();
      await appendLog(log, `${line}\n`);
      await until(() => shardLines(dir, 2).flat().includes(line), 2000);
      latencies.push(performance.now() - started);
    }
    controller.abort();
    await running;
    // At least one run per line: a run may also take a log its writer has created but not yet locked (empty).
    assert.ok((stats?.runs ?? 0) >= 5, `${stats?.runs} runs`);
    latencies.sort((a, b) => a - b);
    assert.ok(latencies[2]! < 500, `median pick-up ${latencies[2]} ms (fs.watch, not the 10 s poll)`);
  });
});

test('watch mode honours the shutdown file and removes it', async () => {
  await inChannel(async (dir) => {
    const shutdownFile = path.join(dir, 'shutdown');
    const running = runSplitter({ channelDir: dir, shards: 2, pollMs: 20, shutdownFile });
    await new Promise((resolve) => setTimeout(resolve, 50));
    await appendLog(path.join(dir, 'log'), 'MAILBOX user.x\n');
    await until(() => fileLines(path.join(dir, 'log.0')).length + fileLines(path.join(dir, 'log.1')).length === 1, 2000);
    fs.writeFileSync(shutdownFile, '');
    const stats = await running;
    assert.ok(stats.runs >= 1, 'the line was taken before the stop'); // a run may also find the log its writer had not yet locked
    assert.not.ok(fs.existsSync(shutdownFile));
  });
});

test.run();
