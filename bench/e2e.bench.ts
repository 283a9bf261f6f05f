/**
 * `npm run bench:e2e`: stock sync_client against syncmux on the same machine,
 * the same harness lab and the same workloads, back to back in one run,
 * at 0 ms and with a 5 ms-each-way delay proxy in front of the replica's
 * sync port. Prints one table; every run must end with master == replica.
 *
 * After the clients come the replica's floor rows (e2e/floor.ts): the
 * replica alone applying syncmux-client's recorded burst with N connections,
 * no client work on the clock. No client drains faster than that here.
 * Then the burst again for stock, the drop-in and one shard, on a replica
 * whose every fsync takes BENCH_SLOW_FSYNC_US longer: storage like the one
 * the lab's stock baseline was recorded on.
 * Last, the latency workload into one user whose INBOX already holds many
 * messages (stock and the drop-in, 0 ms): an APPEND must not cost more as
 * the mailbox grows.
 *
 * Knobs (environment): BENCH_MESSAGES (2000), BENCH_USERS (50), BENCH_BURSTS
 * (3 bursts per row, each into its own BENCH_USERS users; the median is
 * reported), BENCH_LATENCY_SECONDS (20), BENCH_DELAYS ("0,5"), BENCH_CLIENTS
 * (a regex on the client names), BENCH_FLOOR_CONNECTIONS ("8,16"; "" for
 * none), BENCH_SLOW_FSYNC_US (600; 0 for none), BENCH_LARGE_MAILBOX (20000
 * messages; 0 for none).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CyrusLab, type LabOptions } from '../lab/cyrus-lab.js';
import { compareLab } from '../lab/compare.js';
import { createUser, deliver } from '../lab/lab-ops.js';
import { cyrusUnavailableReason } from '../lab/install.js';
import type { Row } from './e2e/table.js';
import { setSyncPort } from './e2e/sync-port.js';
import { CLIENTS, type ClientSpec } from './e2e/clients.js';
import { DelayProxy } from './delay-proxy.js';
import { burst, latency, percentile, type BurstResult } from './e2e/workloads.js';
import { replicaFloor } from './e2e/floor.js';
import { slowFsyncEnv } from './e2e/slow-fsync.js';

const env = (k: string, d: number) => Number(process.env[k] ?? d);


/**
 * Finished labs are stopped but their files stay until the whole bench is
 * over. Deleting thousands of files slows the next lab's inode allocations:
 * ext4 skips inodes freed in the last 60 s (300 s while their block is dirty),
 * so sync_server's CPU for the same burst varied 0.35-1.7 s depending on
 * what the previous row had just removed.
 */
const finishedLabs: string[] = [];

/** A lab with the bench users (and what `beforeSeed` adds) on master and replica, the clients pointed at the proxy. */
async function prepareLab(lab: CyrusLab, proxy: DelayProxy, users: string[], beforeSeed?: (lab: CyrusLab) => Promise<void>): Promise<void> {
  for (const u of users) await createUser(lab, u, ['Sent']);
  await beforeSeed?.(lab);
  // Seeded directly (spawnSync would block the in-process proxy), then the clients go through the proxy.
  const seeded = lab.stockSyncClient(['-A'], { check: false });
  if (seeded.status !== 0) throw new Error(`seeding with stock -A failed: ${seeded.stderr}`);
  fs.rmSync(`${lab.syncLogDir()}/log`, { force: true }); // the users' creation is already on the replica
  setSyncPort(lab, proxy.port);
}

/** Runs `body` on a fresh, prepared lab; a failure becomes the row's error. The lab's files stay until the end. */
async function withLab(row: Row, delayMs: number, users: string[], body: (lab: CyrusLab, proxy: DelayProxy) => Promise<void>, beforeSeed?: (lab: CyrusLab) => Promise<void>, labOptions: LabOptions = {}): Promise<Row> {
  const lab = await CyrusLab.start({ ...labOptions, keep: true });
  finishedLabs.push(lab.dir);
  const proxy = await DelayProxy.start(lab.replica.ports.sync!, delayMs);
  try {
    await prepareLab(lab, proxy, users, beforeSeed);
    await body(lab, proxy);
  } catch (err) {
    row.error = (err as Error).message.slice(0, 300);
  } finally {
    await proxy.close();
    await lab.destroy();
  }
  return row;
}

const benchUsers = (set = 0) => Array.from({ length: env('BENCH_USERS', 50) }, (_, i) => `bench${set > 0 ? `${set}_` : ''}${i}`);
const burstCount = () => Math.max(1, env('BENCH_BURSTS', 3));
/** One set of fresh users per burst, so every burst delivers into mailboxes as empty as the first's. */
const burstUserSets = () => Array.from({ length: burstCount() }, (_, set) => benchUsers(set));

/**
 * Runs the burst workload BENCH_BURSTS times in the same lab, each time
 * into its own set of users (2000 new deliveries, then the client from a
 * cold start), and fills the row's burst columns with the median run's
 * figures and the range of the drain times: one run on this VM moves by
 * ±0.05-0.1 s. Compare is checked after the last.
 */
async function burstColumns(row: Row, lab: CyrusLab, spec: ClientSpec, userSets: string[][]): Promise<void> {
  const runs: BurstResult[] = [];
  for (const users of userSets) runs.push(await burst(lab, spec, users, env('BENCH_MESSAGES', 2000)));
  const after = await compareLab(lab);
  const drains = runs.map((r) => r.drainSeconds);
  const mid = runs.find((r) => r.drainSeconds === percentile([...drains].sort((a, b) => a - b), 50))!;
  row['burst drain s'] = mid.drainSeconds.toFixed(2);
  row['burst drain range s'] = `${Math.min(...drains).toFixed(2)}-${Math.max(...drains).toFixed(2)}`;
  row['burst msg/s'] = Math.round(mid.msgPerSecond);
  row['burst client CPU s'] = mid.clientCpu.toFixed(2);
  row['burst replica CPU s'] = mid.replicaCpu.toFixed(2);
  row['burst equal'] = after.equal ? 'yes' : `NO (${after.differences.length} differences)`;
}

async function runOne(spec: ClientSpec, delayMs: number): Promise<Row> {
  const sets = burstUserSets();
  const users = sets[0]!;
  const row: Row = { client: spec.name, 'delay ms (each way)': delayMs };
  return withLab(row, delayMs, sets.flat(), async (lab, proxy) => {
    await burstColumns(row, lab, spec, sets);

    // Counted from the first timed delivery: connection set-up is not the steady state.
    const l = await latency(lab, spec, users[0]!, env('BENCH_LATENCY_SECONDS', 20), () => proxy.resetStats());
    const trips = proxy.stats.roundTrips;
    row['lat p50 ms'] = l.p50.toFixed(1);
    row['lat p90 ms'] = l.p90.toFixed(1);
    row['lat p99 ms'] = l.p99.toFixed(1);
    row['lat max ms'] = l.max.toFixed(1);
    row['round trips / APPEND'] = (trips / l.samples.length).toFixed(2);
    const afterLatency = await compareLab(lab, [users[0]!]);
    row['latency equal'] = afterLatency.equal ? 'yes' : 'NO';
  });
}

/** The replica alone: syncmux-client -R's burst recorded with `connections` connections, then replayed from memory. */
async function runFloor(connections: number, delayMs: number): Promise<Row> {
  const users = benchUsers();
  const row: Row = { client: `replica floor: replay of syncmux-client -R, ${connections} connections`, 'delay ms (each way)': delayMs };
  return withLab(row, delayMs, users, async (lab, proxy) => {
    fs.appendFileSync(lab.master.paths.imapdConf, `syncmux_client_connections: ${connections}\n`);
    const recorded = CLIENTS.find((c) => c.name === 'syncmux-client -R')!;
    const f = await replicaFloor(lab, proxy, recorded, users, env('BENCH_MESSAGES', 2000));
    const after = await compareLab(lab);
    row['burst drain s'] = f.seconds.toFixed(2);
    row['burst msg/s'] = Math.round(env('BENCH_MESSAGES', 2000) / f.seconds);
    row['burst client CPU s'] = '-';
    row['burst replica CPU s'] = f.replicaCpu.toFixed(2);
    row['burst equal'] = after.equal ? 'yes' : `NO (${after.differences.length} differences)`;
    row['recorded drain s'] = f.recordedDrainSeconds.toFixed(2);
  });
}

/**
 * The burst alone, on a replica whose fsyncs each take `fsyncDelayUs` longer
 * (e2e/slow-fsync.c). The lab's stock baseline (1.8-2.4 s for this burst) was
 * recorded when this VM's disk flushed about three times slower than now;
 * these rows show how the clients compare on storage like that.
 */
async function runSlowStorage(spec: ClientSpec, delayMs: number, fsyncDelayUs: number, replicaEnv: Record<string, string>): Promise<Row> {
  const sets = burstUserSets();
  const row: Row = { client: `${spec.name}, replica fsync +${fsyncDelayUs / 1000} ms`, 'delay ms (each way)': delayMs };
  return withLab(row, delayMs, sets.flat(), async (lab) => {
    await burstColumns(row, lab, spec, sets);
  }, undefined, { replicaEnv });
}

/** Latency rows (stock, then the drop-in) into one user whose INBOX holds `messages` before the clock starts; one lab, 0 ms. */
async function runLargeMailbox(messages: number): Promise<Row[]> {
  const rows: Row[] = [];
  const setup: Row = { client: `latency into an INBOX of ${messages} messages`, 'delay ms (each way)': 0 };
  await withLab(setup, 0, ['big'], async (lab, proxy) => {
    for (const spec of CLIENTS.filter((c) => c.name === 'stock sync_client -R' || c.name === 'syncmux-client -R')) {
      const row: Row = { client: `${spec.name}, INBOX of ${messages}`, 'delay ms (each way)': 0 };
      rows.push(row);
      const l = await latency(lab, spec, 'big', env('BENCH_LATENCY_SECONDS', 20), () => proxy.resetStats());
      row['lat p50 ms'] = l.p50.toFixed(1);
      row['lat p90 ms'] = l.p90.toFixed(1);
      row['lat p99 ms'] = l.p99.toFixed(1);
      row['lat max ms'] = l.max.toFixed(1);
      row['round trips / APPEND'] = (proxy.stats.roundTrips / l.samples.length).toFixed(2);
      row['latency equal'] = (await compareLab(lab, ['big'])).equal ? 'yes' : 'NO';
    }
  }, (lab) => deliver(lab, 'big', messages));
  return setup.error ? [...rows, setup] : rows;
}

const SLOW_STORAGE_CLIENTS = ['stock sync_client -R', 'syncmux-client -R', 'syncmux run --shards 1'];

async function runSlowStorageRows(delays: number[], fsyncDelayUs: number, pick: RegExp | null): Promise<Row[]> {
  const shimDir = fs.mkdtempSync(path.join(os.tmpdir(), 'syncmux-bench-shim-'));
  fs.chmodSync(shimDir, 0o755); // the replica's processes (cyrus) load the shim from here
  try {
    let replicaEnv: Record<string, string>;
    try {
      replicaEnv = slowFsyncEnv(shimDir, fsyncDelayUs);
    } catch (err) {
      return [{ bench: 'e2e, slower storage', skipped: (err as Error).message.slice(0, 300) }];
    }
    const rows: Row[] = [];
    for (const delay of delays) {
      for (const spec of CLIENTS.filter((c) => SLOW_STORAGE_CLIENTS.includes(c.name) && (!pick || pick.test(c.name)))) {
        const row = await runSlowStorage(spec, delay, fsyncDelayUs, replicaEnv);
        console.error(JSON.stringify(row));
        rows.push(row);
      }
    }
    return rows;
  } finally {
    fs.rmSync(shimDir, { recursive: true, force: true });
  }
}

export async function benchE2e(): Promise<Row[]> {
  const reason = cyrusUnavailableReason();
  if (reason) return [{ bench: 'e2e', skipped: reason }];
  const delays = (process.env.BENCH_DELAYS ?? '0,5').split(',').map(Number);
  const pick = process.env.BENCH_CLIENTS ? new RegExp(process.env.BENCH_CLIENTS) : null;
  const rows: Row[] = [];
  for (const delay of delays) {
    for (const spec of CLIENTS) {
      if (pick && !pick.test(spec.name)) continue;
      const row = await runOne(spec, delay);
      console.error(JSON.stringify(row));
      rows.push(row);
    }
    for (const connections of (process.env.BENCH_FLOOR_CONNECTIONS ?? '8,16').split(',').filter(Boolean).map(Number)) {
      const row = await runFloor(connections, delay);
      console.error(JSON.stringify(row));
      rows.push(row);
    }
  }
  const fsyncDelayUs = env('BENCH_SLOW_FSYNC_US', 600);
  if (fsyncDelayUs > 0) rows.push(...(await runSlowStorageRows(delays, fsyncDelayUs, pick)));
  const large = env('BENCH_LARGE_MAILBOX', 20000);
  if (large > 0) {
    for (const row of await runLargeMailbox(large)) {
      console.error(JSON.stringify(row));
      rows.push(row);
    }
  }
  for (const dir of finishedLabs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
  return rows;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(`syncmux e2e bench — ${new Date().toISOString()} — ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, node ${process.version}`);
  console.table(await benchE2e());
}
