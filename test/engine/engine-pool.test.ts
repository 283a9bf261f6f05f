// EnginePool: the preferred connection per key, and how batches are spread
// over connections as they come up, fill, drop and close (fake connections;
// the real-replica behaviour is in test/cli/syncmux-client-maxchild.test.ts).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { connectionCount, connectionFor, EnginePool, type PoolMember } from '../../src/engine/engine-pool.js';
import type { UserBatch, UserOutcome } from '../../src/engine/replicator.js';
import { shardOf } from '../../src/native/index.js';

const users = Array.from({ length: 4000 }, (_, i) => `user${i}@example.com`);

test('a key always prefers the same connection', () => {
  for (const u of users.slice(0, 200)) assert.is(connectionFor(u, 4), connectionFor(u, 4));
  assert.is(connectionFor('anyone', 1), 0);
});

test("one shard's users prefer all its connections, even when the counts share a factor", () => {
  for (const [shards, connections] of [[2, 2], [4, 2], [4, 4], [8, 4], [3, 3]] as const) {
    const inShard0 = users.filter((u) => shardOf(u, shards) === 0);
    const used = new Array<number>(connections).fill(0);
    for (const u of inShard0) used[connectionFor(u, connections)]!++;
    const expected = inShard0.length / connections;
    for (const n of used) assert.ok(n > expected * 0.7 && n < expected * 1.3, `${shards} shards x ${connections}: ${used.join(',')}`);
  }
});

test('connection counts: integers 1-64, else the fallback', () => {
  assert.is(connectionCount(undefined, 4), 4);
  assert.is(connectionCount('8', 4), 8);
  for (const bad of ['0', '65', '-1', '2.5', 'lots', '']) assert.is(connectionCount(bad, 3), 3, bad);
});

/** A connection whose state the test sets, and whose batches the test finishes. */
class FakeMember implements PoolMember {
  live = false;
  isConnecting = false;
  connectFailure: string | null = null;
  muteConnectWaitsWhile(): void {}
  warmUps = 0;
  closed = false;
  readonly running: Array<{ batch: UserBatch; finish: (o: UserOutcome) => void }> = [];
  private readonly listeners: Array<() => void> = [];

  onConnectAttempt(listener: () => void): void {
    this.listeners.push(listener);
  }
  replicate(batch: UserBatch): Promise<UserOutcome> {
    if (this.closed || !this.live) return Promise.resolve({ ok: false, retryable: true, error: 'cannot connect' });
    return new Promise((finish) => this.running.push({ batch, finish }));
  }
  /** Set: every attempt the pool starts fails at once with this (as with -o). */
  refuseWith: string | null = null;
  warmUp(): void {
    this.warmUps++;
    if (this.live || this.closed) return;
    this.isConnecting = true;
    const error = this.refuseWith;
    if (error !== null) queueMicrotask(() => this.attempt(error, true));
  }
  async close(): Promise<void> {
    this.closed = true;
    this.live = false;
    this.isConnecting = false;
  }
  /** The connection attempt ends: up, or failed with `error` (and retrying unless `gaveUp`). */
  attempt(error: string | null, gaveUp = false): void {
    this.live = error === null;
    this.connectFailure = error;
    this.isConnecting = error !== null && !gaveUp;
    for (const l of this.listeners) l();
  }
  finishAll(): void {
    for (const r of this.running.splice(0)) r.finish({ ok: true });
  }
}

const settle = () => new Promise((r) => setImmediate(r));
const batch = (key: string, lines: number): UserBatch => ({ key, lines: Array.from({ length: lines }, () => ({ type: 'APPEND', args: [`user.${key}`] })), retry: false });

function pool(n: number): { members: FakeMember[]; pool: EnginePool<FakeMember>; logs: string[] } {
  const members = Array.from({ length: n }, () => new FakeMember());
  const logs: string[] = [];
  return { members, pool: new EnginePool(members, (p, m) => logs.push(`${p}: ${m}`)), logs };
}

test('a burst is spread evenly by lines, whatever the keys hash to', async () => {
  const { members, pool: p } = pool(4);
  p.warmUp();
  for (const m of members) m.attempt(null);
  const done = Array.from({ length: 50 }, (_, i) => p.replicate(batch(`bench${i}`, 40)));
  await settle();
  // 2000 lines over 4 connections: each holds its share of 500 (12 or 13 users of 40 lines).
  for (const load of p.loads) assert.ok(load >= 480 && load <= 520, `loads ${p.loads.join(',')}`);
  assert.is(p.waitingCount, 0);
  for (const m of members) m.finishAll();
  assert.ok((await Promise.all(done)).every((o) => o.ok));
  assert.equal([...p.loads], [0, 0, 0, 0]);
});

test('a connection that comes up late takes its share of what still waits', async () => {
  const { members, pool: p } = pool(4);
  p.warmUp();
  members[0]!.attempt(null);
  const done = Array.from({ length: 40 }, (_, i) => p.replicate(batch(`u${i}`, 10)));
  await settle();
  // Three connections are still on their first attempt: the live one takes a quarter, the rest waits.
  assert.equal([...p.loads], [100, 0, 0, 0]);
  assert.is(p.waitingCount, 30);
  members[1]!.attempt(null);
  await settle();
  assert.equal([...p.loads], [100, 100, 0, 0]);
  // One is refused: its share is no longer held for it; the last comes up.
  members[2]!.attempt('connection refused');
  members[3]!.attempt(null);
  await settle();
  assert.is(p.waitingCount, 0);
  assert.is(p.loads[2], 0);
  assert.is(p.loads[0]! + p.loads[1]! + p.loads[3]!, 400);
  for (const m of members) m.finishAll();
  await settle();
  for (const m of members) m.finishAll();
  assert.ok((await Promise.all(done)).every((o) => o.ok));
});

test('a full connection frees up and takes the next waiting batch', async () => {
  const { members, pool: p } = pool(2);
  p.warmUp();
  members[0]!.attempt(null);
  members[1]!.attempt('refused');
  const done = Array.from({ length: 3 }, (_, i) => p.replicate(batch(`u${i}`, 10)));
  await settle();
  // Only one connection: it holds its share of all 30 lines.
  assert.is(members[0]!.running.length, 3);
  members[0]!.finishAll();
  await Promise.all(done);
  // Idle connections always take a batch, however small the total.
  const one = p.replicate(batch('solo', 1));
  await settle();
  assert.is(members[0]!.running.length, 1);
  members[0]!.finishAll();
  assert.ok((await one).ok);
});

test('a reset while others look up (the replica going down) gets the warning without the maxchild hint', () => {
  const { members, pool: p, logs } = pool(2);
  p.warmUp();
  members[0]!.attempt(null);
  members[1]!.attempt('IMAP_AGAIN: read ECONNRESET');
  assert.is(logs.length, 1);
  assert.match(logs[0]!, /^warning: replica connection 2 of 2 cannot connect while others can \(IMAP_AGAIN: read ECONNRESET\)/);
  assert.not.match(logs[0]!, /maxchild/);
});

test('refused while others are up: one warning, a notice when back, and no work meanwhile', async () => {
  const { members, pool: p, logs } = pool(2);
  p.warmUp();
  members[0]!.attempt(null);
  members[1]!.attempt('timed out');
  members[1]!.attempt('timed out');
  assert.is(logs.filter((l) => l.startsWith('warning:')).length, 1);
  assert.match(logs[0]!, /replica connection 2 of 2 cannot connect while others can \(timed out\).*maxchild/);
  const done = Array.from({ length: 4 }, (_, i) => p.replicate(batch(`u${i}`, 1)));
  await settle();
  assert.is(members[1]!.running.length, 0);
  members[1]!.attempt(null);
  assert.match(logs.at(-1)!, /^notice: replica connection 2 of 2 is up again/);
  members[0]!.finishAll();
  assert.ok((await Promise.all(done)).every((o) => o.ok));
});

test('a dropped connection is reconnected by the pool, since no batch is routed to it', async () => {
  const { members, pool: p } = pool(2);
  p.warmUp();
  for (const m of members) m.attempt(null);
  const before = members[1]!.warmUps;
  members[1]!.live = false; // the connection failed between batches
  const done = p.replicate(batch('u', 1));
  await settle();
  assert.is(members[1]!.warmUps, before + 1);
  assert.is(members[0]!.running.length, 1);
  members[0]!.finishAll();
  assert.ok((await done).ok);
});

test('with nothing up, batches wait for an attempt; when every attempt gave up they fail, as one engine would', async () => {
  const { members, pool: p } = pool(2);
  p.warmUp();
  let outcome: UserOutcome | null = null;
  void p.replicate(batch('u', 1)).then((o) => (outcome = o));
  await settle();
  assert.is(outcome, null);
  assert.is(p.waitingCount, 1);
  for (const m of members) m.refuseWith = 'refused';
  members[0]!.attempt('refused', true);
  await settle();
  assert.is(outcome, null, 'still waiting on the second attempt');
  members[1]!.attempt('refused', true);
  await settle();
  assert.equal(outcome, { ok: false, retryable: true, error: 'cannot connect' });
});

test('close releases waiting batches as failures', async () => {
  const { members, pool: p } = pool(2);
  p.warmUp();
  members[0]!.attempt(null);
  const done = Array.from({ length: 4 }, (_, i) => p.replicate(batch(`u${i}`, 10)));
  await settle();
  assert.ok(p.waitingCount > 0);
  await p.close();
  const outcomes = await Promise.all(done.slice(2));
  assert.ok(outcomes.every((o) => !o.ok));
});

test.run();
