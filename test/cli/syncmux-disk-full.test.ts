/**
 * `syncmux run` on a full disk: the master's channel directory is a small
 * tmpfs made for the test. With a user failing (so its shard rewrites the
 * retry journal) and Cyrus's log holding new lines, the disk is filled and
 * the daemon started: it takes log over, cannot write the shard logs, says
 * so in one LOG_ERR line, keeps log-run and the journal, and stays up. Once
 * space returns it resumes by itself; at the end master == replica and
 * stock sync_client -u finds nothing to send.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { CyrusLab } from '../../lab/cyrus-lab.js';
import { compareLab } from '../../lab/compare.js';
import { createUser, deliver } from '../../lab/lab-ops.js';
import { lookupSystemUser } from '../../src/cyrus/system-user.js';
import { shardOf } from '../../src/native/index.js';
import { cyrusSkipReason } from '../support/cyrus.js';
import { assertReplicaCaughtUp, sleep, startDaemon, stopDaemon, waitChannelDrained, waitFor, type Daemon } from '../support/daemon.js';
import { skip } from '../support/skip.js';

const reason = cyrusSkipReason();
const SHARDS = 2;
const CANDIDATES = Array.from({ length: 16 }, (_, i) => `full${i}`);

/** Fills the filesystem of `dir` as cyrus (so nothing root-owned lands there); returns the filler's path. */
function fill(dir: string, cyrus: { uid: number; gid: number }): string {
  const filler = path.join(dir, 'filler');
  spawnSync('dd', ['if=/dev/zero', `of=${filler}`, 'bs=4k'], { uid: cyrus.uid, gid: cyrus.gid, stdio: 'ignore' });
  return filler;
}

interface SmallDisk {
  readonly lab: CyrusLab;
  /** The channel directory: a 512 kB tmpfs owned by cyrus. */
  readonly dir: string;
  readonly cyrus: { uid: number; gid: number };
  /** Stopped at the end if still running. */
  daemon: Daemon | null;
  /** A replica INBOX made unreadable (refuseUser), given its mode back at the end. */
  refused: { path: string; mode: number } | null;
}

/** Runs `fn` on a lab whose channel directory is a small tmpfs; stops, restores and unmounts whatever it leaves. */
async function onSmallDisk(name: string, fn: (t: SmallDisk) => Promise<void>): Promise<void> {
  if (reason) return skip(name, reason);
  if (process.getuid?.() !== 0) return skip(name, 'mounting a tmpfs needs root');
  const cyrus = lookupSystemUser('cyrus')!;
  const lab = await CyrusLab.start();
  const t: SmallDisk = { lab, dir: lab.syncLogDir(), cyrus, daemon: null, refused: null };
  let mounted = false;
  try {
    fs.mkdirSync(t.dir, { recursive: true });
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=512k,mode=0700,uid=${cyrus.uid},gid=${cyrus.gid}`, 'tmpfs', t.dir]);
    mounted = true;
    await fn(t);
  } finally {
    if (t.daemon) await stopDaemon(t.daemon);
    acceptUser(t);
    await lab.stop();
    if (mounted) execFileSync('umount', [t.dir]);
    await lab.destroy();
  }
}

/** The replica refuses `user` from now on: its INBOX cannot be read. */
function refuseUser(t: SmallDisk, user: string): void {
  const inbox = t.lab.tool(t.lab.replica, 'mbpath', [`user/${user}`]).stdout.trim();
  t.refused = { path: inbox, mode: fs.statSync(inbox).mode & 0o7777 };
  fs.chmodSync(inbox, 0);
}

function acceptUser(t: SmallDisk): void {
  if (t.refused) fs.chmodSync(t.refused.path, t.refused.mode);
  t.refused = null;
}

/** Stops the daemon the test is done with (exit 75, as stock's on SIGTERM). */
async function stopChecked(t: SmallDisk, d: Daemon): Promise<void> {
  assert.is(await stopDaemon(d), 75, d.output());
  if (process.env.SYNCMUX_TEST_VERBOSE) process.stdout.write(d.output());
  t.daemon = null;
}

test('a full disk stops the splitter taking log, loses nothing, and it resumes by itself', () =>
  onSmallDisk('disk full', async (t) => {
    const { lab, dir } = t;
    const failing = CANDIDATES.find((u) => shardOf(u, SHARDS) === 0)!;
    const healthy = CANDIDATES.find((u) => shardOf(u, SHARDS) === 1)!;
    for (const u of [failing, healthy]) {
      await createUser(lab, u);
      await deliver(lab, u, 1);
    }
    const first = (t.daemon = startDaemon(lab, SHARDS));
    await waitChannelDrained(lab);

    // The failing user's replica mailbox cannot be read: its lines go to the retry journal.
    refuseUser(t, failing);
    await deliver(lab, failing, 2, { start: 1 });
    await waitFor('the retry journal', () => fs.existsSync(path.join(dir, 'retry.0')) && fs.statSync(path.join(dir, 'retry.0')).size > 0, 30_000);
    await stopChecked(t, first);

    // New lines in Cyrus's log, then a full disk, then the daemon.
    await deliver(lab, failing, 2, { start: 3 });
    await deliver(lab, healthy, 3, { start: 1 });
    const filler = fill(dir, t.cyrus);
    const d = (t.daemon = startDaemon(lab, SHARDS));
    await waitFor('the report', () => /cannot write in/.test(d.output()), 20_000);
    await sleep(4000); // several retries
    assert.is(d.child.exitCode, null, `the daemon stays up\n${d.output()}`);
    const reports = d.output().split('\n').filter((l) => /cannot write in/.test(l));
    assert.is(reports.length, 1, d.output());
    assert.match(reports[0]!, /ENOSPC/);
    assert.ok(fs.existsSync(path.join(dir, 'log-run')), 'what was taken stays in log-run');
    assert.ok(fs.statSync(path.join(dir, 'retry.0')).size > 0, 'the retry journal is kept');

    fs.rmSync(filler);
    await waitFor('the resumption', () => /can write in .* again/.test(d.output()), 20_000);
    acceptUser(t);
    await waitChannelDrained(lab);
    await waitFor('the replica to catch up', async () => (await compareLab(lab)).equal, 30_000, 500);
    await assertReplicaCaughtUp(lab, d, [failing, healthy], 'after the disk was full');
    await stopChecked(t, d);
  }));

test('a retry journal that cannot be written keeps the lines in log-run, says so once, and resumes', () =>
  onSmallDisk('journal on a full disk', async (t) => {
    const { lab, dir } = t;
    const failing = CANDIDATES.find((u) => shardOf(u, SHARDS) === 0)!;
    await createUser(lab, failing);
    await deliver(lab, failing, 1);
    const first = (t.daemon = startDaemon(lab, SHARDS));
    await waitChannelDrained(lab);
    await stopChecked(t, first);

    // The user's lines wait in its shard's log, as the splitter leaves them; the replica will refuse the user,
    // so the shard must journal them, on a disk with no room left.
    refuseUser(t, failing);
    await deliver(lab, failing, 2, { start: 1 });
    assert.not.ok(fs.existsSync(path.join(dir, 'log.0')), 'no shard log left by the clean stop');
    fs.renameSync(path.join(dir, 'log'), path.join(dir, 'log.0')); // Cyrus's lines, all of them this shard's
    const filler = fill(dir, t.cyrus);
    const d = (t.daemon = startDaemon(lab, SHARDS));
    const journal = path.join(dir, 'retry.0');
    await waitFor('the report', () => d.output().includes(journal), 20_000);
    await waitFor('a restart', () => /shard 0 failed again/.test(d.output()), 20_000);
    await sleep(4000); // several retries
    assert.is(d.child.exitCode, null, `the daemon stays up\n${d.output()}`);
    // The shard stops and is restarted with backoff (nothing is taken out of its log meanwhile):
    // the first failure at LOG_ERR, the same again as "failed again" (LOG_NOTICE).
    const lines = d.output().split('\n');
    const reported = lines.filter((l) => /^shard 0 failed: ENOSPC/.test(l) && l.includes(journal));
    assert.is(reported.length, 1, `reported once at LOG_ERR:\n${d.output()}`);
    assert.ok(lines.some((l) => /^shard 0 failed again: ENOSPC/.test(l)), `repeats are "failed again":\n${d.output()}`);
    assert.ok(fs.existsSync(path.join(dir, 'log-run.0')) || fs.existsSync(path.join(dir, 'log.0')), 'the lines stay in the shard log');

    fs.rmSync(filler);
    acceptUser(t);
    await waitChannelDrained(lab);
    await waitFor('the replica to catch up', async () => (await compareLab(lab)).equal, 60_000, 500);
    await assertReplicaCaughtUp(lab, d, [failing], 'after the journal could not be written');
    await stopChecked(t, d);
  }));

test.run();
