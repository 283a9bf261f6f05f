/**
 * SIGTERM ends `syncmux run` within sync_timeout, exit 75, in every state:
 * starting, restarting failing workers, waiting for a lock Cyrus holds,
 * reconnecting to a stopped replica, mid-upload behind a slow link. Each
 * case brings the daemon into the state, stops it and measures.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { CyrusLab } from '../../lab/cyrus-lab.js';
import { createUser, deliver, imap } from '../../lab/lab-ops.js';
import { shardOf } from '../../src/native/index.js';
import { readStatus } from '../../src/cli/run-daemon.js';
import { cyrusSkipReason } from '../support/cyrus.js';
import { sleep, startDaemon, waitFor, type Daemon } from '../support/daemon.js';
import { holdLock, StallProxy, stopTimed } from '../support/signals.js';
import { skip } from '../support/skip.js';

const reason = cyrusSkipReason();
/** sync_timeout for these labs, seconds: the bound every stop must meet. */
const SYNC_TIMEOUT = 10;
const BOUND_MS = SYNC_TIMEOUT * 1000 + 1500;
const timings: string[] = [];

const CANDIDATES = Array.from({ length: 16 }, (_, i) => `bar${i}`);

/** Points the daemon (only: Cyrus has read its config) at another replica port. */
function pointAt(lab: CyrusLab, port: number): void {
  const conf = lab.master.paths.imapdConf;
  const text = fs.readFileSync(conf, 'utf8').replace(new RegExp(`^${lab.channel}_sync_port: .*$`, 'm'), `${lab.channel}_sync_port: ${port}`);
  fs.writeFileSync(conf, text);
}

async function withDaemon(state: string, labExtra: string[], setUp: (lab: CyrusLab) => Promise<void>, bringUp: (lab: CyrusLab, d: Daemon) => Promise<void>, shards = 2, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  const lab = await CyrusLab.start({ masterExtra: [`sync_timeout: ${SYNC_TIMEOUT}`, ...labExtra] });
  let daemon: Daemon | null = null;
  try {
    await setUp(lab);
    daemon = startDaemon(lab, shards);
    await bringUp(lab, daemon);
    const { code, ms } = await stopTimed(daemon.child, daemon.exited, signal);
    timings.push(`${state}: ${ms} ms`);
    process.stdout.write(`  stop while ${state}: exit ${code} after ${ms} ms\n`);
    if (process.env.SYNCMUX_SIGNALS_VERBOSE) process.stdout.write(daemon.output().slice(-3000) + (fs.existsSync(lab.syncLogDir()) ? fs.readdirSync(lab.syncLogDir()).join(" ") : "") + "\n");
    assert.is(code, 75, `${state}\n${daemon.output().slice(-3000)}`);
    assert.ok(ms < BOUND_MS, `${state}: took ${ms} ms\n${daemon.output().slice(-3000)}`);
    daemon = null;
  } finally {
    if (daemon) {
      daemon.child.kill('SIGKILL');
      await daemon.exited;
    }
    await lab.destroy();
  }
}

test('SIGTERM while starting', async () => {
  if (reason) return skip('signals', reason);
  // Its workers take about 2 s to load under tsx.
  await withDaemon('starting', [], async () => {}, async (_lab, d) => {
    await waitFor('the start', () => /syncmux starting/.test(d.output()), 20_000, 5);
    assert.not.match(d.output(), /syncmux running/, 'the daemon was already up');
  });
});

test('SIGTERM while workers keep failing and restart', async () => {
  if (reason) return skip('signals', reason);
  await withDaemon('restarting workers', [], async (lab) => {
    await createUser(lab, 'sig1');
    await deliver(lab, 'sig1', 1);
    // A retry journal that cannot be opened (a directory in its place): shard 0's worker fails at every start.
    fs.mkdirSync(path.join(lab.syncLogDir(), 'retry.0'), { recursive: true });
    execFileSync('chown', ['-R', 'cyrus:mail', lab.syncLogDir()]);
  }, async (_lab, d) => {
    await waitFor('a worker restart', () => /restarting \(attempt 2\)/.test(d.output()), 30_000);
  }, 2);
});

test('SIGTERM while waiting for the log lock', async () => {
  if (reason) return skip('signals', reason);
  let holder: { release: () => Promise<void> } | null = null;
  try {
    await withDaemon('waiting for the log lock', [], async (lab) => {
      await createUser(lab, 'sig2');
      await deliver(lab, 'sig2', 1);
      holder = await holdLock(path.join(lab.syncLogDir(), 'log'));
    }, async (lab) => {
      // The hand-off renamed log and now waits for the writer that holds it.
      await waitFor('the hand-off', () => fs.existsSync(path.join(lab.syncLogDir(), 'log-run')), 10_000);
      await sleep(1000);
    });
  } finally {
    await (holder as { release: () => Promise<void> } | null)?.release();
  }
});

test('SIGTERM while reconnecting to a stopped replica', async () => {
  if (reason) return skip('signals', reason);
  await withDaemon('reconnecting', [], async (lab) => {
    await createUser(lab, 'sig3');
    await lab.stopInstance(lab.replica);
    await deliver(lab, 'sig3', 2);
  }, async (_lab, d) => {
    await waitFor('a reconnect wait', () => /retrying in/.test(d.output()), 10_000);
    await sleep(2500);
  });
});

test('SIGINT while a worker waits for mailboxes.db', async () => {
  if (reason) return skip('signals', reason);
  let holder: { release: () => Promise<void> } | null = null;
  try {
    await withDaemon('waiting for mailboxes.db (SIGINT)', [], async (lab) => {
      await createUser(lab, 'sig5');
      await deliver(lab, 'sig5', 1);
      holder = await holdLock(path.join(lab.master.paths.configDirectory, 'mailboxes.db'));
    }, async (lab) => {
      // The splitter has handed the line to its shard, whose worker now waits for the lock.
      await waitFor('the shard to take its log', () => fs.readdirSync(lab.syncLogDir()).some((n) => /^log-run\.\d$/.test(n)), 10_000);
      await sleep(1000);
    }, 1, 'SIGINT');
  } finally {
    await (holder as { release: () => Promise<void> } | null)?.release();
  }
});

test('SIGTERM mid-upload behind a replica that stalled', async () => {
  if (reason) return skip('signals', reason);
  let proxy: StallProxy | null = null;
  try {
    await withDaemon('mid-upload', [], async (lab) => {
      await createUser(lab, 'sig4');
      proxy = await StallProxy.start(lab.replica.ports.sync!);
      pointAt(lab, proxy.port);
    }, async (lab, d) => {
      await deliver(lab, 'sig4', 1);
      await waitFor('the first sync', () => (readStatus(lab.syncLogDir())?.shardStats[0]?.linesDone ?? 0) > 0, 20_000, 100);
      // The replica hangs; the next message (below syncmux_reserve_threshold, so sent
      // without APPLY RESERVE, in one flight with its APPLY MAILBOX) is then in flight, unanswered.
      proxy!.stall();
      await deliver(lab, 'sig4', 1, { size: 60_000, start: 1 });
      // Compressed, the upload is a few hundred bytes.
      await waitFor('the upload under way', () => proxy!.bytesHeld > 200, 20_000);
      await sleep(500);
    }, 1);
  } finally {
    await (proxy as StallProxy | null)?.close();
  }
});

test('SIGTERM while a shard waits at a barrier for a shard that keeps failing', async () => {
  if (reason) return skip('signals', reason);
  const from = CANDIDATES.find((u) => shardOf(u, 2) === 0)!;
  const to = CANDIDATES.find((u) => shardOf(u, 2) === 1)!;
  await withDaemon('holding a barrier', [], async (lab) => {
    await createUser(lab, from, ['Moving']);
    await createUser(lab, to);
    fs.mkdirSync(path.join(lab.syncLogDir(), 'retry.1'), { recursive: true });
    execFileSync('chown', ['-R', 'cyrus:mail', lab.syncLogDir()]);
  }, async (lab, d) => {
    await waitFor('shard 1 failing', () => /shard 1 failed/.test(d.output()), 20_000);
    await imap(lab.master, null, `RENAME "user/${from}/Moving" "user/${to}/Moved"`);
    // Shard 0 leads the barrier and waits for shard 1, which never gets there.
    const run0 = path.join(lab.syncLogDir(), 'log-run.0');
    await waitFor('the barrier', () => fs.existsSync(run0) && fs.readFileSync(run0, 'latin1').includes('BARRIER'), 20_000);
    await sleep(1500);
  }, 2);
});

test.after(() => {
  process.stdout.write(`stop times: ${timings.join('; ')}\n`);
});
test.run();
