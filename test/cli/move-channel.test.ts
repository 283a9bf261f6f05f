/**
 * Moving a live channel between clients while the master takes deliveries
 * throughout: stock `sync_client -R` → `syncmux run --shards 4` → (handback)
 * `syncmux run --shards 2` → (handback) `syncmux-client -R` → stock again.
 * Each switch happens under load; after each step the channel drains,
 * master == replica and stock `-u` has nothing left to send. A step that
 * would strand lines refuses and names the files.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { CyrusLab } from '../../lab/cyrus-lab.js';
import { cyrusEnv } from '../../lab/cyrus-installs.js';
import { createUser } from '../../lab/lab-ops.js';
import { LmtpClient, makeMessage } from '../../lab/lmtp-client.js';
import { cyrusSkipReason } from '../support/cyrus.js';
import { assertReplicaCaughtUp, SYNCMUX, sleep, startDaemon, stopDaemon, waitChannelDrained, type Daemon } from '../support/daemon.js';
import { skip } from '../support/skip.js';
import { CLIENT } from './support.js';

const NAME = 'a live channel moves stock -> syncmux run 4 -> run 2 -> syncmux-client -> stock with nothing lost';
const USERS = ['mv0', 'mv1', 'mv2', 'mv3', 'mv4', 'mv5'];

/** Deliveries every 40 ms, round-robin, until stopped; pausable for a check. */
function deliveries(lab: CyrusLab): { pause(): Promise<void>; resume(): void; stop(): Promise<number> } {
  let paused = false;
  let stopped = false;
  let count = 0;
  let idle: () => void = () => {};
  const loop = (async () => {
    const lmtp = await LmtpClient.connect(lab.master.ports.lmtp);
    try {
      while (!stopped) {
        if (paused) {
          idle();
          await sleep(20);
          continue;
        }
        const user = USERS[count % USERS.length]!;
        await lmtp.deliver(user, makeMessage(user, 1000 + count));
        count++;
        await sleep(40);
      }
    } finally {
      await lmtp.close();
    }
  })();
  return {
    pause: () => new Promise<void>((resolve) => { idle = resolve; paused = true; }),
    resume: () => { paused = false; idle = () => {}; },
    stop: async () => { stopped = true; await loop; return count; },
  };
}

/** A foreground rolling client as a child: stock's (from the master's build) or syncmux-client. */
function rolling(lab: CyrusLab, which: 'stock' | 'syncmux'): { child: ChildProcess; exited: Promise<number | null> } {
  const args = ['-C', lab.master.paths.imapdConf, '-n', lab.channel, '-R'];
  const child = which === 'stock'
    ? spawn(path.join(lab.master.cyrus.binDir, 'sync_client'), args, { stdio: 'ignore', env: cyrusEnv(lab.master.cyrus) })
    : spawn(process.execPath, ['--import', 'tsx', CLIENT, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  return { child, exited: new Promise((resolve) => child.on('exit', (code) => resolve(code))) };
}

function syncmux(lab: CyrusLab, ...args: string[]) {
  return spawnSync(process.execPath, ['--import', 'tsx', SYNCMUX, ...args, '-C', lab.master.paths.imapdConf, '-n', lab.channel], { encoding: 'utf8', timeout: 60_000 });
}

test(NAME, async () => {
  const reason = cyrusSkipReason();
  if (reason) return skip(NAME, reason);
  const lab = await CyrusLab.start();
  for (const u of USERS) await createUser(lab, u);
  const mail = deliveries(lab);
  let daemon: Daemon | null = null;
  try {
    const checkpoint = async (where: string, current: Daemon | null) => {
      await mail.pause();
      await waitChannelDrained(lab);
      await assertReplicaCaughtUp(lab, current ?? ({ output: () => '' } as Daemon), USERS, where);
      mail.resume();
      await sleep(500); // lines pile up in log while the next switch happens
    };

    const stock1 = rolling(lab, 'stock');
    await sleep(1500);
    await checkpoint('under stock sync_client -R', null);
    stock1.child.kill('SIGTERM');
    await stock1.exited;

    daemon = startDaemon(lab, 4);
    await sleep(2000);
    await checkpoint('under syncmux run --shards 4', daemon);
    assert.is(await stopDaemon(daemon), 75);
    daemon = null;
    await sleep(500);
    // Lines the daemon took but did not replicate: the splitter alone puts what was logged into shard logs.
    assert.is(syncmux(lab, 'split', '--once', '--shards', '4').status, 0);
    const refused = syncmux(lab, 'run', '--once', '--shards', '2');
    assert.is.not(refused.status, 0, 'a new shard count with lines in the old shard logs is refused');
    assert.match(refused.stderr, /refusing to split .* into 2 shards: .*log\.\d .*syncmux handback/s);
    const back = syncmux(lab, 'handback');
    assert.is(back.status, 0, back.stderr);
    const moved = Number(/^(\d+) line\(s\) into /.exec(back.stdout)?.[1] ?? 0);
    assert.ok(moved > 0, back.stdout);
    daemon = startDaemon(lab, 2);
    await sleep(2000);
    await checkpoint('under syncmux run --shards 2', daemon);
    assert.is(await stopDaemon(daemon), 75);
    daemon = null;
    await sleep(500);

    // The drop-in refuses while the daemon's files hold lines, and names them.
    assert.is(syncmux(lab, 'split', '--once', '--shards', '2').status, 0);
    const stranded = spawnSync(process.execPath, ['--import', 'tsx', CLIENT, '-C', lab.master.paths.imapdConf, '-n', lab.channel, '-R', '-1'], { encoding: 'utf8' });
    assert.is(stranded.status, 1, stranded.stderr);
    assert.match(stranded.stderr, /log\.\d.* hold lines syncmux run has not replicated; run `syncmux handback`/);
    assert.is(syncmux(lab, 'handback').status, 0);
    const client = rolling(lab, 'syncmux');
    await sleep(2000);
    await checkpoint('under syncmux-client -R', null);
    client.child.kill('SIGTERM');
    assert.is(await client.exited, 75);

    const stock2 = rolling(lab, 'stock');
    await sleep(1500);
    const delivered = await mail.stop();
    await waitChannelDrained(lab);
    await assertReplicaCaughtUp(lab, { output: () => '' } as Daemon, USERS, 'back under stock sync_client -R');
    stock2.child.kill('SIGTERM');
    await stock2.exited;
    assert.ok(delivered > 50, `only ${delivered} deliveries`);
  } finally {
    await mail.stop();
    if (daemon) await stopDaemon(daemon);
    await lab.destroy();
  }
});

test.run();
