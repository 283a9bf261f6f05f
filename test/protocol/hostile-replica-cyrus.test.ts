/**
 * Hostile and broken replicas against a real Cyrus master (and replica),
 * through the scripted fake of support/fake-replica.ts:
 *   - the drop-in's rolling pass over 3 connections, one of which greets
 *     and then stalls (or answers garbage): the others carry on, the stuck
 *     batches time out at sync_timeout, are retried on a new connection,
 *     and master == replica at the end;
 *   - a replica that breaks every connection: the pass ends, every line is
 *     re-queued to the log, and reconnects wait;
 *   - the daemon's engine: a connection that breaks again and again is
 *     remade after 1 s, 2 s, … and the batch comes back retryable.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import path from 'node:path';
import { CyrusLab } from '../../lab/cyrus-lab.js';
import { compareLab } from '../../lab/compare.js';
import { createUser, deliver } from '../../lab/lab-ops.js';
import { parseLine } from '../../src/synclog/line.js';
import { cyrusSkipReason } from '../support/cyrus.js';
import { skip } from '../support/skip.js';
import { runClient } from '../cli/support.js';
import { engineFor } from '../engine/support.js';
import { FakeReplica, greetAndAuthenticate, proxyTo, type FakeConnection, type Script } from './support/fake-replica.js';

const reason = cyrusSkipReason();
let lab: CyrusLab | null = null;
const users = ['h1', 'h2', 'h3', 'h4', 'h5', 'h6'];

test.before(async () => {
  if (reason) return;
  lab = await CyrusLab.start();
  for (const u of users) await createUser(lab, u);
  const seeded = lab.stockSyncClient(['-A']);
  if (seeded.status !== 0) throw new Error(`seeding failed: ${seeded.stderr}`);
  fs.rmSync(path.join(lab.syncLogDir(), 'log'), { force: true });
});
test.after(async () => {
  await lab?.destroy();
});

/** A copy of the master's imapd.conf with `extra` lines, so each test has its own settings. */
function configWith(name: string, extra: string[]): string {
  const file = path.join(path.dirname(lab!.master.paths.imapdConf), `imapd-${name}.conf`);
  fs.writeFileSync(file, `${fs.readFileSync(lab!.master.paths.imapdConf, 'utf8')}\n${extra.join('\n')}\n`);
  return file;
}

/** Greets, then reads commands and reacts to the first with `misbehave`; counts the commands it saw. */
function hostileAfterGreeting(misbehave: (c: FakeConnection) => Promise<void> | void, seen: string[]): Script {
  return async (c) => {
    if (!(await greetAndAuthenticate(c))) return;
    const first = await c.readLine();
    if (first === null) return;
    seen.push(first);
    await misbehave(c);
    for (let line = await c.readLine(); line !== null; line = await c.readLine()) seen.push(line);
  };
}

const misbehaviours: Array<[string, (c: FakeConnection) => Promise<void> | void, number]> = [
  // [what the first connection does after greeting, its sync_timeout]
  ['stalls after the greeting', () => {}, 10],
  ['answers garbage', (c) => void c.write('\x00\x01 garbage\r\n'), 3],
];

for (const [name, misbehave, syncTimeout] of misbehaviours) {
  test(`drop-in pool: one connection ${name}, the others carry on and nothing is lost`, async () => {
    if (reason || !lab) return skip(`pool, one connection ${name}`, reason ?? 'no lab');
    const seen: string[] = [];
    const hostile = hostileAfterGreeting(misbehave, seen);
    const real = proxyTo(lab.replica.ports.sync!);
    const fake = await FakeReplica.start((c) => (c.index === 0 ? hostile(c) : real(c)));
    try {
      for (const u of users) await deliver(lab, u, 2, { start: Date.now() % 100_000 });
      const config = configWith('pool', [`${lab.channel}_syncmux_client_connections: 3`, `sync_timeout: ${syncTimeout}`, 'sync_reconnect_maxwait: 1']);
      const start = Date.now();
      const run = runClient(['-C', config, '-n', lab.channel, '-S', `127.0.0.1:${fake.port}`, '-R', '-1']);
      if (syncTimeout >= 10) {
        // While the first connection still holds its batch, every other user is already on the replica.
        while (seen.length === 0) await new Promise((r) => setTimeout(r, 20));
        const stalled = new Set(users.filter((u) => seen.some((l) => l.includes(u))));
        const others = users.filter((u) => !stalled.has(u));
        let differences: unknown[] = [];
        for (let i = 0; i < 10; i++) {
          differences = (await compareLab(lab, others)).differences;
          if (differences.length === 0) break;
          await new Promise((r) => setTimeout(r, 300));
        }
        assert.equal(differences, [], 'the other users replicated while one connection stalled');
        assert.not.ok(fake.connections[0]!.socket.destroyed, 'checked while the stalled connection was still waiting');
        assert.ok(stalled.size < users.length, `stalled users: ${[...stalled].join(' ')}`);
      }
      const r = await run;
      const ms = Date.now() - start;
      assert.is(r.status, 0, r.stderr);
      assert.ok(seen.length > 0, 'the hostile connection was given work');
      assert.ok(ms < syncTimeout * 1000 + 10_000, `the pass took ${ms} ms`);
      assert.not.ok(fs.existsSync(path.join(lab.syncLogDir(), 'log-run')));
      const log = path.join(lab.syncLogDir(), 'log');
      assert.is(fs.existsSync(log) ? fs.readFileSync(log, 'latin1') : '', '', 'nothing re-queued: the stuck batches were retried');
      assert.equal((await compareLab(lab, users)).differences, []);
    } finally {
      await fake.close();
    }
  });
}

test('drop-in against a replica that breaks every connection: lines re-queued, reconnects wait', async () => {
  if (reason || !lab) return skip('always-broken replica', reason ?? 'no lab');
  const seen: string[] = [];
  const fake = await FakeReplica.start(hostileAfterGreeting((c) => void c.write('* USER %(USERID {1099511627776+}\r\n'), seen));
  try {
    await deliver(lab, 'h1', 1, { start: 900_000 });
    const log = path.join(lab.syncLogDir(), 'log');
    const logged = new Set(fs.readFileSync(log, 'latin1').split('\n').filter(Boolean));
    const config = configWith('broken', [`${lab.channel}_syncmux_client_connections: 1`, 'sync_timeout: 3', 'sync_reconnect_maxwait: 1']);
    const start = Date.now();
    const r = await runClient(['-C', config, '-n', lab.channel, '-S', `127.0.0.1:${fake.port}`, '-R', '-1']);
    const ms = Date.now() - start;
    assert.is(r.status, 0, r.stderr);
    assert.ok(ms < 25_000, `the pass took ${ms} ms`);
    // 1 + 3 reconnects per batch; from the second break in a row each waits (1 s with this maxwait).
    assert.ok(fake.connections.length >= 4, `${fake.connections.length} connections`);
    assert.ok(ms >= 2000, `reconnects did not wait: ${ms} ms`);
    const requeued = fs.readFileSync(log, 'latin1').split('\n').filter(Boolean);
    assert.equal(new Set(requeued), logged, 'every distinct line is back in the log');
    assert.ok(requeued.every((l) => parseLine(Buffer.from(`${l}\n`, 'latin1')).ok), requeued.join('\n'));
    assert.not.ok(fs.existsSync(path.join(lab.syncLogDir(), 'log-run')));
  } finally {
    await fake.close();
    fs.rmSync(path.join(lab.syncLogDir(), 'log'), { force: true });
  }
});

test("daemon engine: a replica that breaks each connection is retried after 1 s, 2 s; the batch comes back retryable", async () => {
  if (reason || !lab) return skip('daemon engine backoff', reason ?? 'no lab');
  // A close inside a literal each time: a replica restart looks the same once, not four times in a row.
  const closeMidLiteral = hostileAfterGreeting(async (c) => {
    await c.write('* USER %(USERID {10+}\r\n01234');
    c.socket.end();
  }, []);
  const fake = await FakeReplica.start(closeMidLiteral);
  const { engine, logs } = engineFor(lab, { engine: { serverOverride: `127.0.0.1:${fake.port}`, firstRetrySeconds: 1, noCache: true } });
  try {
    const start = Date.now();
    const outcome = await engine.replicate({ key: 'h2', lines: [{ type: 'USER', args: ['h2'] }], retry: false });
    const ms = Date.now() - start;
    assert.equal({ ok: outcome.ok, retryable: !outcome.ok && outcome.retryable }, { ok: false, retryable: true }, JSON.stringify(outcome));
    assert.is(fake.connections.length, 4, 'the first try and 3 reconnects');
    const waits = logs.filter((l) => /broke \d+ times in a row/.test(l));
    assert.is(waits.length, 2, logs.join('\n'));
    assert.match(waits[0]!, /broke 2 times in a row \(last: IMAP_AGAIN: connection closed by the replica inside a literal of the reply to GET USER.*reconnecting in 1 seconds/);
    assert.match(waits[1]!, /reconnecting in 2 seconds/);
    assert.ok(ms >= 3000 && ms < 10_000, `took ${ms} ms`);
    assert.ok(logs.some((l) => /IOERROR: user replication failed: h2: IMAP_AGAIN/.test(l)), logs.join('\n'));
  } finally {
    await engine.close();
    await fake.close();
  }
});

test.run();
