import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import path from 'node:path';
import { runShard, runShardOnce, type ShardRunnerOptions } from '../../src/shard/index.js';
import { appendShardLog, exists, removeDir, tempChannel, usersOnShard, waitFor } from './fixtures/helpers.js';
import { MemoryReplicator } from './fixtures/memory-replicator.js';

const fast = { backoff: { initialMs: 20, maxMs: 80 }, pollMs: 20, barrierPollMs: 5 } as const;

function options(dir: string, replicator: MemoryReplicator, extra: Partial<ShardRunnerOptions> = {}): ShardRunnerOptions {
  return { channelDir: dir, shard: 0, shards: 1, replicator, ...fast, ...extra };
}

const appends = (user: string, from: number, to: number): string[] =>
  Array.from({ length: to - from + 1 }, (_, i) => `APPEND user.${user}.m${from + i}`);

test('a failing user keeps its order across retries while the others flow', async () => {
  const dir = tempChannel();
  const replicator = new MemoryReplicator();
  const stop = new AbortController();
  let running: Promise<unknown> | null = null;
  try {
    replicator.failing.add('bad');
    await appendShardLog(dir, 0, appends('bad', 1, 5).flatMap((line, i) => [line, `APPEND user.good.m${i + 1}`]));
    running = runShard(options(dir, replicator, { signal: stop.signal }));

    await waitFor('good m1-m5', () => replicator.confirmed('good').length === 5);
    assert.is(replicator.confirmed('bad').length, 0, 'bad has not gone through');
    assert.ok(replicator.failures('bad') >= 1);

    // New lines for the failing user queue behind its pending ones; the good user's go straight out.
    await appendShardLog(dir, 0, [...appends('bad', 6, 10), ...appends('good', 6, 10)]);
    await waitFor('good m6-m10', () => replicator.confirmed('good').length === 10);
    await waitFor('a second failure of bad', () => replicator.failures('bad') >= 2);
    assert.is(replicator.confirmed('bad').length, 0);
    // log-run.0 goes once its lines are confirmed or journaled, though bad's are not confirmed.
    await waitFor('log-run.0 removed', () => !exists(dir, 'log-run.0'));
    assert.is(replicator.confirmed('bad').length, 0);
    assert.ok(exists(dir, 'retry.0'));

    replicator.failing.delete('bad');
    await waitFor('bad healed', () => replicator.confirmed('bad').length === 10);
    assert.equal(replicator.confirmed('bad'), appends('bad', 1, 10), 'in log order, nothing twice');
    assert.equal(replicator.confirmed('good'), appends('good', 1, 10));
    assert.ok(replicator.attempts.filter((a) => a.key === 'bad' && a.ok).every((a) => a.retry));
    await waitFor('journal emptied', () => !exists(dir, 'retry.0'));
    stop.abort();
    const stats = (await running) as Awaited<ReturnType<typeof runShard>>;
    assert.is(stats.linesDone, 20);
    assert.is(stats.retryLines, 0);
    assert.is(stats.linesToRetry, 10);
    assert.ok(stats.usersFailed >= 2);
  } finally {
    stop.abort();
    await running?.catch(() => {}); // a runner must not outlive its directory
    removeDir(dir);
  }
});

test('backoff grows per failure and a user that fails N times then heals gets everything once', async () => {
  const dir = tempChannel();
  const replicator = new MemoryReplicator();
  const stop = new AbortController();
  let running: Promise<unknown> | null = null;
  try {
    replicator.failTimes.set('flaky', 4);
    await appendShardLog(dir, 0, appends('flaky', 1, 3));
    const started = Date.now();
    running = runShard(options(dir, replicator, { signal: stop.signal, backoff: { initialMs: 10, maxMs: 1000 } }));
    await waitFor('flaky healed', () => replicator.confirmed('flaky').length === 3, 5000);
    stop.abort();
    await running;
    // Waits of 10 + 20 + 40 + 80 ms between the five attempts.
    assert.ok(Date.now() - started >= 150, `healed after ${Date.now() - started} ms`);
    assert.is(replicator.failures('flaky'), 4);
    assert.equal(replicator.confirmed('flaky'), appends('flaky', 1, 3));
  } finally {
    stop.abort();
    await running?.catch(() => {});
    removeDir(dir);
  }
});

test('log-run.<i> stays until every line is confirmed: a stop mid-run leaves it for the next start', async () => {
  const dir = tempChannel();
  const slow = new MemoryReplicator();
  const stop = new AbortController();
  let running: Promise<unknown> | null = null;
  try {
    const users = ['u1', 'u2', 'u3', 'u4'];
    await appendShardLog(dir, 0, users.flatMap((u) => appends(u, 1, 3)));
    slow.delays.set('u1', 400);
    running = runShard(options(dir, slow, { signal: stop.signal, concurrency: 1 }));
    await waitFor('u1 in flight', () => exists(dir, 'log-run.0'));
    await new Promise((resolve) => setTimeout(resolve, 30));
    stop.abort();
    await running;
    assert.ok(exists(dir, 'log-run.0'), 'kept: not all lines were confirmed');
    assert.equal(slow.confirmed('u1'), appends('u1', 1, 3), 'the batch in flight finished');
    assert.is(slow.confirmed('u4').length, 0, 'queued batches were not started');

    const healthy = new MemoryReplicator();
    await runShardOnce(options(dir, healthy));
    assert.not.ok(exists(dir, 'log-run.0'));
    for (const u of users) assert.equal(healthy.confirmed(u), appends(u, 1, 3));
  } finally {
    stop.abort();
    await running?.catch(() => {});
    removeDir(dir);
  }
});

test('skipuser- parks a user in order; resyncuser- sends a USER line and is removed', async () => {
  const dir = tempChannel();
  const replicator = new MemoryReplicator();
  try {
    fs.writeFileSync(path.join(dir, 'skipuser-sk'), '');
    await appendShardLog(dir, 0, [...appends('sk', 1, 3), ...appends('ok', 1, 2)]);
    let stats = await runShardOnce(options(dir, replicator));
    assert.equal(replicator.confirmed('ok'), appends('ok', 1, 2));
    assert.is(replicator.attempts.filter((a) => a.key === 'sk').length, 0, 'never tried while skipped');
    assert.is(stats.linesParked, 3);
    assert.is(stats.retryLines, 3);
    assert.is(stats.retryUsers, 1);
    assert.ok(stats.oldestRetryMs > 0 && stats.oldestRetryMs <= Date.now(), 'retry lag is measured');
    assert.is(stats.oldestMainMs, 0, 'the main pipeline is caught up');

    await appendShardLog(dir, 0, appends('sk', 4, 4));
    fs.writeFileSync(path.join(dir, 'resyncuser-sk'), '');
    await runShardOnce(options(dir, replicator));
    assert.is(replicator.attempts.filter((a) => a.key === 'sk').length, 0, 'still skipped');
    assert.not.ok(exists(dir, 'resyncuser-sk'), 'a parked resync counts as taken');

    fs.unlinkSync(path.join(dir, 'skipuser-sk'));
    stats = await runShardOnce(options(dir, replicator));
    // The resync was taken before that run's line m4 was read, so it queued before it.
    assert.equal(replicator.confirmed('sk'), [...appends('sk', 1, 3), 'USER sk', ...appends('sk', 4, 4)], 'in order');
    assert.is(stats.retryLines, 0);

    fs.writeFileSync(path.join(dir, 'resyncuser-ok@internal'), ''); // the default domain is dropped, as routing does
    fs.writeFileSync(path.join(dir, 'resyncuser-@shared.example'), ''); // no user: ignored and removed
    await runShardOnce(options(dir, replicator));
    assert.equal(replicator.attempts.at(-1)?.lines, ['USER ok@internal']);
    assert.is(replicator.attempts.at(-1)?.key, 'ok');
    assert.not.ok(exists(dir, 'resyncuser-ok@internal'));
    assert.not.ok(exists(dir, 'resyncuser-@shared.example'));
  } finally {
    removeDir(dir);
  }
});

test('resyncuser- only concerns the user’s own shard', async () => {
  const dir = tempChannel();
  try {
    const [other] = usersOnShard('r', 1, 2, 1);
    fs.writeFileSync(path.join(dir, `resyncuser-${other}`), '');
    const replicator = new MemoryReplicator();
    await runShardOnce({ ...options(dir, replicator), shards: 2, shard: 0 });
    assert.is(replicator.attempts.length, 0);
    assert.ok(exists(dir, `resyncuser-${other}`));
    await runShardOnce({ ...options(dir, replicator), shards: 2, shard: 1 });
    assert.equal(replicator.attempts.map((a) => a.lines), [[`USER ${other}`]]);
  } finally {
    removeDir(dir);
  }
});

test('barrier: the leader runs the cross-user line after both shards’ earlier lines, and before their later ones', async () => {
  const dir = tempChannel();
  const replicator = new MemoryReplicator();
  try {
    const [a] = usersOnShard('lead', 0, 2, 1);
    const [b] = usersOnShard('follow', 1, 2, 1);
    const rename = `RENAME user.${a}.x user.${b}.x`;
    await appendShardLog(dir, 0, [`APPEND user.${a}.before`, 'BARRIER 1.100 0,1', rename, `APPEND user.${a}.after`]);
    await appendShardLog(dir, 1, [`APPEND user.${b}.before`, 'BARRIER 1.100 0,1', `APPEND user.${b}.after`]);
    replicator.delays.set(b!, 100); // without the barrier, the rename would overtake b's earlier line
    const shard = (i: number): Promise<unknown> => runShardOnce({ ...options(dir, replicator), shards: 2, shard: i });
    await Promise.all([shard(0), shard(1)]);
    const seqOf = (line: string): number => replicator.attempts.find((x) => x.ok && x.lines.includes(line))!.seq;
    const renameAt = seqOf(rename);
    assert.ok(seqOf(`APPEND user.${a}.before`) < renameAt);
    assert.ok(seqOf(`APPEND user.${b}.before`) < renameAt);
    assert.ok(seqOf(`APPEND user.${a}.after`) > renameAt);
    assert.ok(seqOf(`APPEND user.${b}.after`) > renameAt);
    assert.is(replicator.attempts.find((x) => x.lines.includes(rename))!.key, a);
    assert.is(fs.readFileSync(path.join(dir, 'barrier.0'), 'utf8').trim(), '1.100');
    assert.is(fs.readFileSync(path.join(dir, 'barrier.1'), 'utf8').trim(), '1.100');
  } finally {
    removeDir(dir);
  }
});

test('once mode gives up a barrier whose peer never comes, and keeps the run', async () => {
  const dir = tempChannel();
  const replicator = new MemoryReplicator();
  try {
    const [b] = usersOnShard('follow', 1, 2, 1);
    await appendShardLog(dir, 1, [`APPEND user.${b}.before`, 'BARRIER 1.100 0,1', `APPEND user.${b}.after`]);
    const error = await runShardOnce({ ...options(dir, replicator), shards: 2, shard: 1, barrierTimeoutMs: 100 }).catch((e: Error) => e);
    assert.instance(error, Error);
    assert.is((error as Error).name, 'BarrierTimeoutError');
    assert.equal(replicator.confirmed(b!), [`APPEND user.${b}.before`], 'what came before the barrier went out');
    assert.ok(exists(dir, 'log-run.1'), 'kept for the next start');
    assert.is(fs.readFileSync(path.join(dir, 'barrier.1'), 'utf8').trim(), '1.100', 'the follower published its arrival');
  } finally {
    removeDir(dir);
  }
});

test('a cross-user line within one shard also queues behind its second user when that user is held', async () => {
  const dir = tempChannel();
  const replicator = new MemoryReplicator();
  try {
    replicator.failTimes.set('two', 1);
    const rename = 'RENAME user.one.x user.two.x';
    await appendShardLog(dir, 0, ['APPEND user.two.m1', rename, 'APPEND user.one.m2', 'APPEND user.two.m2']);
    await runShardOnce(options(dir, replicator));
    assert.equal(replicator.confirmed('one'), [rename, 'APPEND user.one.m2']);
    await new Promise((resolve) => setTimeout(resolve, 30));
    await runShardOnce(options(dir, replicator));
    assert.equal(replicator.confirmed('two'), ['APPEND user.two.m1', rename, 'APPEND user.two.m2']);
  } finally {
    removeDir(dir);
  }
});

test('unparseable lines go to quarantine.<i>; the rest goes on', async () => {
  const dir = tempChannel();
  const replicator = new MemoryReplicator();
  try {
    await appendShardLog(dir, 0, ['APPEND user.q.m1', 'FROB user.q', '', 'APPEND user.q.m2']);
    const stats = await runShardOnce(options(dir, replicator));
    assert.equal(replicator.confirmed('q'), ['APPEND user.q.m1', 'APPEND user.q.m2']);
    assert.is(stats.quarantined, 1);
    assert.match(fs.readFileSync(path.join(dir, 'quarantine.0'), 'latin1'), /\tFROB user\.q\n$/);
  } finally {
    removeDir(dir);
  }
});

test('a second runner on the same shard is refused', async () => {
  const dir = tempChannel();
  const stop = new AbortController();
  let first: Promise<unknown> | null = null;
  try {
    first = runShard(options(dir, new MemoryReplicator(), { signal: stop.signal }));
    await new Promise((resolve) => setTimeout(resolve, 50));
    await runShardOnce(options(dir, new MemoryReplicator(), { lockTimeoutMs: 100 })).then(
      () => assert.unreachable('should be refused'),
      (error: Error) => assert.is(error.name, 'ShardBusyError'),
    );
  } finally {
    stop.abort();
    await first?.catch(() => {});
    removeDir(dir);
  }
});

test('the shutdown file stops watch mode', async () => {
  const dir = tempChannel();
  const stop = new AbortController();
  let running: Promise<unknown> | null = null;
  try {
    const shutdownFile = path.join(dir, 'shutdown');
    running = runShard(options(dir, new MemoryReplicator(), { shutdownFile, pollMs: 1000, signal: stop.signal }));
    await new Promise((resolve) => setTimeout(resolve, 50));
    const started = Date.now();
    fs.writeFileSync(shutdownFile, '');
    await running;
    assert.ok(Date.now() - started < 500, 'woken by the fs event, not the poll');
    assert.ok(fs.existsSync(shutdownFile), 'left for its owner to remove');
  } finally {
    stop.abort();
    await running?.catch(() => {});
    removeDir(dir);
  }
});

test('hand-offs to Cyrus sync_client are counted among confirmed batches', async () => {
  const dir = tempChannel();
  const replicator = new MemoryReplicator();
  try {
    replicator.handedOff.add('legacy');
    await appendShardLog(dir, 0, [...appends('legacy', 1, 2), ...appends('plain', 1, 2)]);
    const stats = await runShardOnce(options(dir, replicator));
    assert.is(stats.usersOk, 2);
    assert.is(stats.handoffs, 1);
    assert.is(stats.uploadsConfirmedUntilMs, 0, 'no replica refused an upload');
  } finally {
    removeDir(dir);
  }
});

test.run();
