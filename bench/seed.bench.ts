/**
 * `npm run bench:seed`: the two bulk shapes of a production replica, stock
 * against syncmux in one run, each row on a fresh lab of the same shape,
 * every row ending with master == replica:
 *
 *  - seed: a new, empty replica takes its first full sync. The master holds
 *    SEED_USERS users with SEED_MESSAGES messages each plus SEED_BIG
 *    messages of SEED_BIG_MB MB; `sync_client -A` against
 *    `syncmux-client -A` (which spreads users over its connections).
 *  - catch-up: the replica was away while CATCHUP_MESSAGES messages reached
 *    CATCHUP_USERS users who already exist on it; the rolling client starts
 *    against that backlog (stock exits when its replica goes, so a
 *    supervisor restarts it when the replica is back: that start is the
 *    clock's start) and the clock stops when the log is drained.
 *
 * SEED_DELAYS and CATCHUP_DELAYS ("0,5") put a proxy adding that many ms
 * each way in front of the replica's sync port for the client under test:
 * stock's serial stream pays every round trip, which is where a seed or a
 * catch-up over a WAN spends its time. The defaults are the sizes of the
 * issue that asked for these rows (500 users × 100 messages plus two of
 * 10 MB; 20,000 messages to 1,000 users).
 *
 * Client CPU is all the client's threads (the shell's `times` for a client
 * that exits, /proc for a running one). The replica's floor for these
 * shapes is not measured here; see RESULTS.md.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { CyrusLab } from '../lab/cyrus-lab.js';
import { compareLab } from '../lab/compare.js';
import { createUser, deliver } from '../lab/lab-ops.js';
import { cyrusUnavailableReason } from '../lab/install.js';
import { cyrusEnv } from '../lab/cyrus-installs.js';
import { table, type Row } from './e2e/table.js';
import { rowOnLab, seededUsers } from './e2e/lab-row.js';
import { setSyncPort } from './e2e/sync-port.js';
import { CLIENTS } from './e2e/clients.js';
import { DelayProxy } from './delay-proxy.js';
import { burst } from './e2e/workloads.js';

const num = (k: string, d: number) => Number(process.env[k] ?? d);
const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');

interface Timed {
  seconds: number;
  cpu: number;
  status: number;
  output: string;
}

/** Runs a command to its end; wall seconds and the CPU of it and its threads, from the shell's `times`. */
function timed(argv: string[], env: NodeJS.ProcessEnv): Promise<Timed> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn('bash', ['-c', '"$@"; rc=$?; times >&2; exit $rc', 'timed', ...argv], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output = (output + c.toString()).slice(-20_000)));
    child.stderr.on('data', (c: Buffer) => (output = (output + c.toString()).slice(-20_000)));
    child.on('error', reject);
    child.on('exit', (code) => {
      const seconds = (performance.now() - started) / 1000;
      const children = output.trim().split('\n').pop() ?? '';
      const parts = [...children.matchAll(/(\d+)m([\d.]+)s/g)].map((m) => Number(m[1]) * 60 + Number(m[2]));
      resolve({ seconds, cpu: (parts[0] ?? NaN) + (parts[1] ?? NaN), status: code ?? 1, output });
    });
  });
}

const SEEDERS = [
  { name: 'stock sync_client -A', argv: (lab: CyrusLab) => [path.join(lab.master.cyrus.binDir, 'sync_client'), '-C', lab.master.paths.imapdConf, '-n', lab.channel, '-A'], env: (lab: CyrusLab) => cyrusEnv(lab.master.cyrus) },
  { name: 'syncmux-client -A', argv: (lab: CyrusLab) => [process.execPath, path.join(root, 'dist', 'bin', 'syncmux-client.js'), '-C', lab.master.paths.imapdConf, '-n', lab.channel, '-A'], env: () => process.env },
];


async function seedRow(seeder: (typeof SEEDERS)[number], delayMs: number): Promise<Row> {
  const users = Array.from({ length: num('SEED_USERS', 500) }, (_, i) => `seed${i}`);
  const perUser = num('SEED_MESSAGES', 100);
  const big = num('SEED_BIG', 2);
  const row: Row = { shape: `seed, ${delayMs} ms`, client: seeder.name, users: users.length, messages: users.length * perUser + big };
  const lab = await CyrusLab.start();
  let proxy: DelayProxy | null = null;
  try {
    for (const u of users) await createUser(lab, u, ['Sent']);
    await Promise.all([0, 1, 2, 3].map(async (lane) => {
      for (let i = lane; i < users.length; i += 4) await deliver(lab, users[i]!, perUser);
    }));
    for (let i = 0; i < big; i++) await deliver(lab, users[i % users.length]!, 1, { size: num('SEED_BIG_MB', 10) * 1024 * 1024, start: 10_000 + i });
    fs.rmSync(`${lab.syncLogDir()}/log`, { force: true }); // a seed reads the store, not the log
    if (delayMs > 0) {
      proxy = await DelayProxy.start(lab.replica.ports.sync!, delayMs);
      setSyncPort(lab, proxy.port);
    }
    const run = await timed(seeder.argv(lab), seeder.env(lab));
    if (run.status !== 0) throw new Error(`${seeder.name} exited ${run.status}: ${run.output.slice(-500)}`);
    row.seconds = run.seconds.toFixed(2);
    row['msg/s'] = Math.round(Number(row.messages) / run.seconds);
    row['client CPU s'] = run.cpu.toFixed(2);
    const after = await compareLab(lab);
    row.equal = after.equal ? 'yes' : `NO (${after.differences.length})`;
  } catch (err) {
    row.error = (err as Error).message.slice(0, 300);
  } finally {
    await proxy?.close();
    await lab.destroy();
  }
  return row;
}

async function catchUpRow(spec: (typeof CLIENTS)[number], delayMs: number): Promise<Row> {
  const messages = num('CATCHUP_MESSAGES', 20_000);
  const row: Row = { shape: `catch-up, ${delayMs} ms`, client: spec.name, users: num('CATCHUP_USERS', 1000), messages };
  let proxy: DelayProxy | null = null;
  try {
    return await rowOnLab(row, {}, async (lab) => {
      const users = await seededUsers(lab, 'cu', num('CATCHUP_USERS', 1000), ['Sent']);
      fs.rmSync(`${lab.syncLogDir()}/log`, { force: true });
      if (delayMs > 0) {
        // Only the client under test pays the delay: the users were seeded directly.
        proxy = await DelayProxy.start(lab.replica.ports.sync!, delayMs);
        setSyncPort(lab, proxy.port);
      }
      const r = await burst(lab, spec, users, messages);
      row.seconds = r.drainSeconds.toFixed(2);
      row['msg/s'] = Math.round(r.msgPerSecond);
      row['client CPU s'] = r.clientCpu.toFixed(2);
      row['replica CPU s'] = r.replicaCpu.toFixed(2);
    });
  } finally {
    await (proxy as DelayProxy | null)?.close();
  }
}


/** × stock for each row, against the stock row of the same shape. */
function ratios(rows: Row[]): void {
  for (const row of rows) {
    const stock = rows.find((r) => r.shape === row.shape && String(r.client).startsWith('stock') && r.seconds !== undefined);
    if (stock && row.seconds !== undefined) row['× faster than stock'] = (Number(stock.seconds) / Number(row.seconds)).toFixed(1);
  }
}

async function main(): Promise<void> {
  const reason = cyrusUnavailableReason();
  if (reason) throw new Error(reason);
  const shapes = (process.env.SEED_SHAPES ?? 'seed,catch-up').split(',');
  const rows: Row[] = [];
  if (shapes.includes('seed')) {
    for (const delay of (process.env.SEED_DELAYS ?? '0,5').split(',').map(Number)) {
      for (const seeder of SEEDERS) {
        const row = await seedRow(seeder, delay);
        console.error(JSON.stringify(row));
        rows.push(row);
      }
    }
  }
  if (shapes.includes('catch-up')) {
    const filter = new RegExp(process.env.CATCHUP_CLIENTS ?? '^(stock|syncmux-client|syncmux run --shards 4)');
    for (const delay of (process.env.CATCHUP_DELAYS ?? '0,5').split(',').map(Number)) {
      for (const spec of CLIENTS.filter((c) => filter.test(c.name))) {
        const row = await catchUpRow(spec, delay);
        console.error(JSON.stringify(row));
        rows.push(row);
      }
    }
  }
  ratios(rows);
  console.log(`\nseed and catch-up, ${new Date().toISOString()}\n`);
  console.log(table(rows));
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
