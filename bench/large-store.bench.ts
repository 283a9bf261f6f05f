/**
 * `npm run bench:large`: APPEND latency and the client's memory on a large
 * store, stock against syncmux in one run. Two labs, the same workload:
 *
 *  - small store: the `big` user's INBOX holds LARGE_SMALL_INBOX messages
 *    and mailboxes.db a handful of users;
 *  - large store: mailboxes.db holds LARGE_USERS more users (empty INBOXes)
 *    and `big`'s INBOX LARGE_INBOX messages (MULTIAPPEND over IMAP).
 *
 * Both sides hold the store before the clock starts: the extra users live on
 * the master only (nothing logs them, so no client looks them up except
 * through mailboxes.db), and `big` is replicated once by `syncmux-client -u`
 * (stock's serial stream would take most of the bench's time). Then each
 * client runs the latency workload (one message every 100 ms to `big`,
 * timed from the LMTP reply until the replica's STATUS shows it) for
 * LARGE_SECONDS, and the row gives the client's peak RSS (VmHWM, all its
 * threads) and CPU. Every row must end with master == replica for `big`.
 *
 * The master == replica check of a million-message mailbox holds both
 * sides' message lists: the npm script gives the bench process a 12 GB heap.
 *
 * Knobs (environment): LARGE_USERS (100000), LARGE_INBOX (1000000),
 * LARGE_SMALL_INBOX (1000), LARGE_SECONDS (20), LARGE_CLIENTS (a regex on
 * the client names; default stock, the drop-in and four shards).
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { CyrusLab } from '../lab/cyrus-lab.js';
import { createUser, withImap } from '../lab/lab-ops.js';
import { makeMessage } from '../lab/lmtp-client.js';
import { cyrusUnavailableReason } from '../lab/install.js';
import type { AppendMessage } from '../lab/imap-client.js';
import { table, type Row } from './e2e/table.js';
import { rowOnLab } from './e2e/lab-row.js';
import { CLIENTS, type ClientSpec } from './e2e/clients.js';
import { latency } from './e2e/workloads.js';
import { cpuByCommandLine, cpuDelta, processCpuSeconds } from './e2e/cpu.js';

const num = (k: string, d: number) => Number(process.env[k] ?? d);
const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const BIG = 'big';

/** `count` users (INBOX only) on the master, over `connections` IMAP connections at once. */
async function addUsers(lab: CyrusLab, count: number, connections = 4): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: connections }, () => withImap(lab.master, null, async (c) => {
    for (let i = next++; i < count; i = next++) await c.command(`CREATE "user/filler${String(i).padStart(6, '0')}"`);
  })));
}

/** `count` messages of about 2 KB into big's INBOX, MULTIAPPEND by the thousand. */
async function fillInbox(lab: CyrusLab, count: number): Promise<void> {
  await withImap(lab.master, BIG, async (c) => {
    for (let i = 0; i < count; i += 1000) {
      const batch: AppendMessage[] = [];
      for (let j = i; j < Math.min(count, i + 1000); j++) batch.push({ body: Buffer.from(makeMessage(BIG, j, 2000, 'large')), flags: j % 3 ? '\\Seen' : '' });
      await c.multiAppend('INBOX', batch);
    }
  });
}

/** big replicated once by the built syncmux-client (`npm run build`), so every client starts from the same replica. */
function seedBig(lab: CyrusLab): number {
  const bin = path.join(root, 'dist', 'bin', 'syncmux-client.js');
  if (!fs.existsSync(bin)) throw new Error(`${bin} is missing: run npm run build first`);
  // GNU time's %M: the seed's own peak RSS in kB, on its last line of stderr.
  const r = spawnSync('/usr/bin/time', ['-f', '%M', process.execPath, bin, '-C', lab.master.paths.imapdConf, '-n', lab.channel, '-u', BIG], { encoding: 'utf8', timeout: 3_600_000 });
  if (r.status !== 0) throw new Error(`seeding ${BIG} failed (${r.status}): ${r.stderr.slice(-500)}`);
  fs.rmSync(path.join(lab.syncLogDir(), 'log'), { force: true }); // what the fill logged is on the replica now
  return Number(r.stderr.trim().split('\n').pop()) / 1024;
}

/** CPU seconds by pid of the replica's sync_server processes (its imapd answers the latency poller's STATUS). */
function syncServerCpu(lab: CyrusLab): Map<number, number> {
  const comm = (pid: number): string => {
    try {
      return fs.readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
    } catch {
      return '';
    }
  };
  return new Map([...cpuByCommandLine(lab.replica.paths.imapdConf)].filter(([pid]) => comm(pid) === 'sync_server'));
}

/** Peak resident set of a running process, from /proc (kB → MB). */
function peakRssMb(pid: number | undefined): number {
  if (pid === undefined) return NaN;
  const m = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

async function storeRows(store: string, users: number, inbox: number, specs: ClientSpec[]): Promise<Row[]> {
  const rows: Row[] = [];
  const setup: Row = { client: `${store} store (setup)` };
  await rowOnLab(setup, {}, async (lab) => {
    const started = performance.now();
    await createUser(lab, BIG, []);
    await Promise.all([addUsers(lab, users), fillInbox(lab, inbox)]);
    const filled = performance.now();
    setup['peak RSS MB'] = `${seedBig(lab).toFixed(0)} (the seed, syncmux-client -u)`;
    setup['setup s'] = `${((filled - started) / 1000).toFixed(0)} fill + ${((performance.now() - filled) / 1000).toFixed(0)} seed`;
    console.error(JSON.stringify(setup));
    for (const spec of specs) {
      const row: Row = { client: spec.name, store, 'users in mailboxes.db': users + 1, 'INBOX messages': inbox };
      rows.push(row);
      const messages = num('LARGE_SECONDS', 20) * 10; // one every 100 ms
      let rss = NaN;
      let clientCpu = 0;
      let replicaCpu = new Map<number, number>();
      const steady = (pid: number | undefined): void => {
        clientCpu = -processCpuSeconds(pid);
        replicaCpu = syncServerCpu(lab);
      };
      const done = (pid: number | undefined): void => {
        clientCpu += processCpuSeconds(pid);
        rss = peakRssMb(pid);
        row['sync_server CPU ms / msg'] = ((cpuDelta(replicaCpu, syncServerCpu(lab)) * 1000) / messages).toFixed(1);
      };
      const l = await latency(lab, spec, BIG, messages / 10, steady, 100, done);
      row['lat p50 ms'] = l.p50.toFixed(1);
      row['lat p90 ms'] = l.p90.toFixed(1);
      row['lat p99 ms'] = l.p99.toFixed(1);
      row['peak RSS MB'] = rss.toFixed(0);
      row['client CPU ms / msg'] = ((clientCpu * 1000) / messages).toFixed(2);
      console.error(JSON.stringify(row)); // a long run's figures survive whatever comes after
    }
    return [BIG];
  });
  for (const row of rows) row.equal = setup.equal ?? 'NO';
  return setup.error ? [...rows, setup] : [setup, ...rows];
}

export async function benchLargeStore(): Promise<Row[]> {
  const reason = cyrusUnavailableReason();
  if (reason) return [{ bench: 'large store', skipped: reason }];
  const pick = new RegExp(process.env.LARGE_CLIENTS ?? '^(stock|syncmux-client|syncmux run --shards 4)');
  const specs = CLIENTS.filter((c) => pick.test(c.name));
  return [
    ...(await storeRows('small', 0, num('LARGE_SMALL_INBOX', 1000), specs)),
    ...(await storeRows('large', num('LARGE_USERS', 100_000), num('LARGE_INBOX', 1_000_000), specs)),
  ];
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(`syncmux large-store bench — ${new Date().toISOString()} — ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, node ${process.version}`);
  console.log(table(await benchLargeStore()));
}
