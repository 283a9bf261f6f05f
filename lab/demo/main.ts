/**
 * `npm run demo` / `./dev demo`: brings up a throwaway Cyrus master and
 * replica, creates users with a realistic mix of activity while
 * `syncmux run --shards 4` replicates, shows a live progress line
 * (events/s, backlog, lag), verifies master == replica over IMAP, prints a
 * summary and cleans up after itself.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { CyrusLab } from '../cyrus-lab.js';
import { compareLab } from '../compare.js';
import { channelDrained, createUser } from '../lab-ops.js';
import { readStatus, statusLagMs, type DaemonStatus } from '../../src/cli/run-daemon.js';
import { cyrusUnavailableReason } from '../install.js';
import { runActivity } from './activity.js';

const SHARDS = Number(process.env.DEMO_SHARDS ?? 4);
const USERS = Number(process.env.DEMO_USERS ?? 40);
const SECONDS = Number(process.env.DEMO_SECONDS ?? 20);

// The daemon as installed: the package's bin (./dev builds it before the demo).
const syncmuxCli = [process.execPath, path.join(path.dirname(new URL(import.meta.url).pathname), '..', '..', 'dist', 'bin', 'syncmux.js')];

function progressLine(s: DaemonStatus | null, started: number, activity: { events: number }): string {
  const elapsed = (Date.now() - started) / 1000;
  const done = s ? s.shardStats.reduce((n, st) => n + st.linesDone, 0) : 0;
  const backlog = s ? Math.max(0, s.splitter.linesIn - done) : 0;
  const retry = s ? s.shardStats.reduce((n, st) => n + st.retryLines, 0) : 0;
  const lag = s ? statusLagMs(s) : 0;
  return `  ${elapsed.toFixed(0).padStart(3)} s  events made ${String(activity.events).padStart(5)}  log lines replicated ${String(done).padStart(6)}  (${(done / Math.max(elapsed, 0.001)).toFixed(0)}/s)  backlog ${backlog}  retrying ${retry}  lag ${lag} ms`;
}

async function main(): Promise<number> {
  const reason = cyrusUnavailableReason();
  if (reason) {
    console.error(`syncmux demo: ${reason}`);
    return 2;
  }
  console.log(`syncmux demo: a throwaway Cyrus 3.6 master and replica, ${USERS} users, ${SHARDS} shards, ${SECONDS} s of activity`);
  const lab = await CyrusLab.start();
  const started = Date.now();
  try {
    console.log(`  master imap ${lab.master.ports.imap} lmtp ${lab.master.ports.lmtp}; replica imap ${lab.replica.ports.imap} sync ${lab.replica.ports.sync}; dir ${lab.dir}`);
    const users = Array.from({ length: USERS }, (_, i) => `user${String(i).padStart(2, '0')}`);
    for (const u of users) await createUser(lab, u, ['Drafts', 'Sent', 'Trash', 'Archive']);
    const [cmd, ...args] = syncmuxCli;
    const daemon = spawn(cmd!, [...args, 'run', '-C', lab.master.paths.imapdConf, '-n', lab.channel, '--shards', String(SHARDS)], { stdio: ['ignore', 'ignore', 'pipe'] });
    let daemonErr = '';
    daemon.stderr.on('data', (c: Buffer) => (daemonErr = (daemonErr + c.toString()).slice(-4000)));
    let exitCode: number | null | undefined;
    const exited = new Promise<number | null>((r) => daemon.on('exit', (code) => r((exitCode = code))));
    const activity = { events: 0 };
    // A live line on a terminal; a line every 2 s when the output is a file or a pipe.
    const tty = process.stdout.isTTY;
    const ticker = setInterval(() => {
      const line = progressLine(readStatus(lab.syncLogDir()), started, activity);
      process.stdout.write(tty ? `\r${line}   ` : `${line}\n`);
    }, tty ? 500 : 2000);
    await runActivity(lab, users, SECONDS * 1000, activity);
    const drainStart = Date.now();
    while (exitCode === undefined && !channelDrained(lab) && Date.now() - drainStart < 120_000) await new Promise((r) => setTimeout(r, 50));
    if (exitCode !== undefined) {
      clearInterval(ticker);
      console.log(`\n  syncmux run exited early (code ${exitCode}); its stderr:\n${daemonErr}`);
      return 1;
    }
    const drainSeconds = (Date.now() - drainStart) / 1000;
    await new Promise((r) => setTimeout(r, 1200));
    clearInterval(ticker);
    process.stdout.write(`${tty ? '\r' : ''}${progressLine(readStatus(lab.syncLogDir()), started, activity)}   \n`);
    const status = readStatus(lab.syncLogDir());
    daemon.kill('SIGTERM');
    await exited;
    console.log('  verifying master == replica over IMAP (every user, mailbox, message, flag, ACL, quota, subscription)…');
    const result = await compareLab(lab);
    const lines = status ? status.shardStats.reduce((n, st) => n + st.linesDone, 0) : 0;
    console.log('\nsummary');
    console.log(`  activity events          ${activity.events} (deliveries, flags, folders, renames, seen, subscriptions, quota, ACLs)`);
    console.log(`  sync-log lines split     ${status?.splitter.linesIn ?? 0} into ${SHARDS} shards`);
    console.log(`  lines replicated         ${lines}; retried ${status?.shardStats.reduce((n, s) => n + s.linesToRetry, 0) ?? 0}; worker restarts ${status?.restarts.reduce((a, b) => a + b, 0) ?? 0}`);
    console.log(`  drained after activity   ${drainSeconds.toFixed(1)} s`);
    console.log(`  master == replica        ${result.equal ? 'yes' : `NO — ${result.differences.length} differences:\n    ${result.differences.slice(0, 20).join('\n    ')}`}`);
    if (!result.equal && daemonErr) console.log(`  daemon stderr:\n${daemonErr}`);
    return result.equal ? 0 : 1;
  } finally {
    await lab.destroy();
  }
}

main().then((code) => process.exit(code), (err: unknown) => {
  console.error(`syncmux demo failed: ${err instanceof Error ? err.stack : String(err)}`);
  process.exit(1);
});
