import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import path from 'node:path';
import { ShardPool, type PoolEvent, type PoolOptions } from '../../src/shard/index.js';
import { appendShardLog, exists, removeDir, tempChannel, usersOnShard, waitFor } from './fixtures/helpers.js';
import { readRecords } from './fixtures/recording-replicator.js';

const SHARDS = 4;
const replicatorModule = new URL('./fixtures/recording-replicator.ts', import.meta.url);

interface Setup {
  readonly dir: string;
  readonly recordFile: string;
  readonly configFile: string;
  readonly events: PoolEvent[];
  readonly written: Map<string, string[]>;
}

function setup(fixture: Record<string, unknown>): Setup {
  const dir = tempChannel();
  const recordFile = path.join(dir, 'records.jsonl');
  const configFile = path.join(dir, 'fixture.json');
  fs.writeFileSync(configFile, JSON.stringify({ recordFile, ...fixture }));
  return { dir, recordFile, configFile, events: [], written: new Map() };
}

function poolOptions(s: Setup, extra: Partial<PoolOptions> = {}): PoolOptions {
  return {
    channelDir: s.dir,
    shards: SHARDS,
    replicatorModule,
    configFile: s.configFile,
    settings: { pollMs: 50, backoff: { initialMs: 20, maxMs: 100 } },
    restart: { initialMs: 50, maxMs: 400 },
    statsIntervalMs: 20,
    onEvent: (event) => s.events.push(event),
    ...extra,
  };
}

/** Five lines for each of `perShard` users on every shard, into log.<i>. */
async function writeLogs(s: Setup, perShard: number, tag: string): Promise<number> {
  let total = 0;
  for (let shard = 0; shard < SHARDS; shard++) {
    const lines: string[] = [];
    for (const user of usersOnShard('p', shard, SHARDS, perShard)) {
      const mine = Array.from({ length: 5 }, (_, i) => `APPEND user.${user}.${tag}${i}`);
      s.written.set(user, [...(s.written.get(user) ?? []), ...mine]);
      lines.push(...mine);
    }
    await appendShardLog(s.dir, shard, lines);
    total += lines.length;
  }
  return total;
}

function allDelivered(s: Setup): boolean {
  const got = new Map<string, Set<string>>();
  for (const record of readRecords(s.recordFile)) {
    if (!record.ok) continue;
    const lines = got.get(record.key) ?? new Set();
    for (const line of record.lines) lines.add(line);
    got.set(record.key, lines);
  }
  return [...s.written].every(([user, lines]) => lines.every((line) => got.get(user)?.has(line)));
}

test('4 workers: one crashes, is restarted, and its work completes; stats are readable from shared memory', async () => {
  const [victim] = usersOnShard('p', 2, SHARDS, 1);
  const s = setup({ crash: { [victim!]: 1 } });
  let pool: ShardPool | null = null;
  try {
    const total = await writeLogs(s, 6, 'a');
    pool = ShardPool.start(poolOptions(s));
    await waitFor('every line delivered', () => allDelivered(s), 30_000, 50);
    assert.ok(pool.restarts(2) >= 1, 'shard 2 was restarted');
    assert.is(pool.restarts(0) + pool.restarts(1) + pool.restarts(3), 0);
    assert.ok(s.events.some((e) => e.type === 'exit' && e.shard === 2 && e.code !== 0));
    assert.ok(s.events.some((e) => e.type === 'restart' && e.shard === 2));
    await waitFor('shared stats', () => pool!.snapshot().reduce((sum, st) => sum + st.linesDone, 0) >= total, 5000);
    assert.ok(pool.snapshot().every((st) => st.updatedMs > 0 && st.linesIn > 0));

    const started = Date.now();
    const codes = await pool.stop(3000);
    pool = null;
    assert.equal(codes, [0, 0, 0, 0]);
    assert.ok(Date.now() - started < 2500, `stopped in ${Date.now() - started} ms`);
    for (let shard = 0; shard < SHARDS; shard++) assert.not.ok(exists(s.dir, `log-run.${shard}`));
  } finally {
    await pool?.stop(0);
    removeDir(s.dir);
  }
});

test('graceful shutdown lets in-flight batches finish and exits 0 promptly', async () => {
  const s = setup({ delayMs: 400 });
  let pool: ShardPool | null = null;
  try {
    await writeLogs(s, 3, 'g');
    pool = ShardPool.start(poolOptions(s, { settings: { pollMs: 50, concurrency: 2 } }));
    await waitFor('batches in flight', () => pool!.snapshot().every((st) => st.inFlight > 0), 15_000);
    const started = Date.now();
    const codes = await pool.stop(3000);
    const took = Date.now() - started;
    pool = null;
    assert.equal(codes, [0, 0, 0, 0]);
    assert.ok(took < 2500, `stopped in ${took} ms`);
    const records = readRecords(s.recordFile);
    assert.ok(records.length >= SHARDS && records.every((r) => r.ok), 'the batches in flight completed');
    const finals = s.events.filter((e) => e.type === 'stats' && e.final);
    assert.is(finals.length, SHARDS, 'each worker sent its final stats');
    // The rest stays in log-run.<i>, for the next start.
    assert.ok([0, 1, 2, 3].every((shard) => exists(s.dir, `log-run.${shard}`)));
  } finally {
    await pool?.stop(0);
    removeDir(s.dir);
  }
});

test('a worker whose batch outlasts the grace period is terminated at grace + 1 s', async () => {
  const s = setup({ delayMs: 5000 });
  let pool: ShardPool | null = null;
  try {
    await writeLogs(s, 1, 's');
    pool = ShardPool.start(poolOptions(s));
    await waitFor('batches in flight', () => pool!.snapshot().every((st) => st.inFlight > 0), 15_000);
    const started = Date.now();
    const codes = await pool.stop(200);
    const took = Date.now() - started;
    pool = null;
    assert.ok(codes.every((code) => code !== 0), `terminated: ${codes.join(',')}`);
    assert.ok(took >= 1100 && took < 3000, `took ${took} ms`);
    assert.is(readRecords(s.recordFile).length, 0, 'nothing was confirmed');
    assert.ok([0, 1, 2, 3].every((shard) => exists(s.dir, `log-run.${shard}`)), 'the runs stay for the next start');
  } finally {
    await pool?.stop(0);
    removeDir(s.dir);
  }
});

test('once mode: every worker does what is there and exits 0 on its own', async () => {
  const s = setup({});
  try {
    await writeLogs(s, 2, 'o');
    const pool = ShardPool.start(poolOptions(s, { mode: 'once' }));
    const codes = await pool.done;
    assert.equal(codes, [0, 0, 0, 0]);
    assert.ok(allDelivered(s));
  } finally {
    removeDir(s.dir);
  }
});

test.run();
