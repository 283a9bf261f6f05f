/**
 * `npm run soak -- --minutes N [--shards S] [--users U] [--seed X]`: a long
 * random mixed workload against a real master and replica while
 * `syncmux run` (the built daemon) replicates through a proxy, with faults
 * injected at random: kill -9 of the daemon (then restarted, as a
 * supervisor would), replica restarts, and every replica connection cut.
 * At the end the daemon drains; the run passes when master == replica and
 * stock sync_client -u has nothing left to apply. Prints the faults
 * injected and survived. Loopback only; stops everything it started.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { DelayProxy } from '../bench/delay-proxy.js';
import { CyrusLab, waitForPorts } from './cyrus-lab.js';
import { compareLab } from './compare.js';
import { channelDrained, createUser } from './lab-ops.js';
import { prng, runActivity } from './demo/activity.js';

const { values } = parseArgs({
  options: { minutes: { type: 'string' }, shards: { type: 'string' }, users: { type: 'string' }, seed: { type: 'string' } },
});
const MINUTES = Number(values.minutes ?? 5);
const SHARDS = Number(values.shards ?? 4);
const USERS = Number(values.users ?? 30);
const SEED = Number(values.seed ?? 20261207);
const DAEMON = path.join(path.dirname(new URL(import.meta.url).pathname), '..', 'dist', 'bin', 'syncmux.js');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function startDaemon(lab: CyrusLab): { child: ChildProcess; exited: Promise<number | string | null> } {
  const child = spawn(process.execPath, [DAEMON, 'run', '-C', lab.master.paths.imapdConf, '-n', lab.channel, '--shards', String(SHARDS)], { stdio: 'ignore' });
  return { child, exited: new Promise((r) => child.on('exit', (code, signal) => r(code ?? signal))) };
}

function pointAt(lab: CyrusLab, port: number): void {
  const file = lab.master.paths.imapdConf;
  fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace(new RegExp(`^${lab.channel}_sync_port: .*$`, 'm'), `${lab.channel}_sync_port: ${port}`));
}

async function main(): Promise<number> {
  if (!fs.existsSync(DAEMON)) throw new Error(`${DAEMON} is missing: run npm run build`);
  const lab = await CyrusLab.start();
  const proxy = await DelayProxy.start(lab.replica.ports.sync!, 0);
  const faults = { kills: 0, replicaRestarts: 0, connectionDrops: 0 };
  let daemon: ReturnType<typeof startDaemon> | null = null;
  try {
    const users = Array.from({ length: USERS }, (_, i) => `soak${i}`);
    for (const u of users) await createUser(lab, u, ['Sent', 'Trash']);
    pointAt(lab, proxy.port);
    daemon = startDaemon(lab);
    const end = Date.now() + MINUTES * 60_000;
    const random = prng(SEED);
    const events = { events: 0 };
    const activity = (async () => {
      for (let round = 0; Date.now() < end; round++) await runActivity(lab, users, Math.min(20_000, Math.max(0, end - Date.now())), events, SEED + round);
    })();
    while (Date.now() < end) {
      await sleep(5_000 + random() * 25_000);
      if (Date.now() >= end) break;
      const roll = random();
      if (roll < 0.4) {
        daemon.child.kill('SIGKILL');
        await daemon.exited;
        daemon = startDaemon(lab);
        faults.kills++;
      } else if (roll < 0.7) {
        // A replica that does not come back in time on a busy machine is the lab's fault, not the
        // daemon's: start it again until it listens, and count the restart once.
        await lab.restart(lab.replica).catch(async () => lab.restart(lab.replica));
        faults.replicaRestarts++;
      } else {
        proxy.dropAll();
        faults.connectionDrops++;
      }
      console.log(`${new Date().toISOString()} ${JSON.stringify(faults)}, ${events.events} events`);
    }
    await activity;
    const ports = (inst: typeof lab.master) => Object.values(inst.ports).filter((port): port is number => !!port);
    await waitForPorts([...ports(lab.master), ...ports(lab.replica)], 120_000);
    const drainStart = Date.now();
    while (!channelDrained(lab) && Date.now() - drainStart < 300_000) await sleep(200);
    const drained = channelDrained(lab);
    await sleep(1500);
    daemon.child.kill('SIGTERM');
    const code = await daemon.exited;
    daemon = null;
    pointAt(lab, lab.replica.ports.sync!);
    await waitForPorts([...ports(lab.master), ...ports(lab.replica)], 120_000);
    const compare = await compareLab(lab);
    const stock = lab.stockSyncClient(['-v', '-v', '-u', ...users], { check: false, timeoutMs: 1_800_000 });
    const applies = `${stock.stdout}\n${stock.stderr}`.split('\n').filter((l) => /^>\d+>APPLY (MESSAGE|MAILBOX|RENAME|UNMAILBOX)\b/.test(l));
    const ok = drained && compare.equal && stock.status === 0 && applies.length === 0 && code === 75;
    console.log(`soak ${ok ? 'PASSED' : 'FAILED'}: ${MINUTES} min, ${SHARDS} shards, ${USERS} users, seed ${SEED}, ${events.events} activity events`);
    console.log(`faults injected and survived: ${faults.kills} kill -9 of the daemon, ${faults.replicaRestarts} replica restarts, ${faults.connectionDrops} connection drops`);
    console.log(`drained ${drained} (${((Date.now() - drainStart) / 1000).toFixed(1)} s); daemon exit ${String(code)}; master == replica ${compare.equal}${compare.equal ? '' : `: ${compare.differences.slice(0, 10).join('; ')}`}; stock -u still to apply: ${applies.length}`);
    if (stock.status !== 0) {
      const tail = `${stock.stdout}\n${stock.stderr}`.split('\n').filter((l) => l && !/^\s*[<>*]/.test(l)).slice(-10);
      console.log(`stock sync_client -u exited ${String(stock.status)}:\n  ${tail.join('\n  ')}`);
    }
    return ok ? 0 : 1;
  } finally {
    daemon?.child.kill('SIGKILL');
    await proxy.close();
    await lab.destroy();
  }
}

main().then((code) => process.exit(code), (err: unknown) => {
  console.error(err);
  process.exit(1);
});
