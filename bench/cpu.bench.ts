/**
 * `npm run bench:cpu`: what each replication client costs the master's CPU
 * per replicated message in steady state (bench/e2e/steady.ts), stock
 * `sync_client -R` against syncmux in one run, on fresh labs of the same
 * shape. Prints one table; every row must end with master == replica.
 *
 * Knobs (environment): CPU_WORKLOADS ("20x20,150x100": rate msg/s x
 * users; "20x1+20000" first fills the first user's INBOX with 20,000;
 * "0x20" is the idle row, a connected client with nothing to do for
 * CPU_SECONDS, read as CPU-s per minute), CPU_SECONDS (30), CPU_WARM (20 s
 * at the same rate first, so V8's compiled state is measured; for the idle
 * row, that long idle first), CPU_SIZE (2000 bytes), CPU_CLIENTS (a
 * regex on the client names), CPU_REPEAT (1; the median run is shown).
 */
import fs from 'node:fs';
import { cyrusUnavailableReason } from '../lab/install.js';
import { deliver } from '../lab/lab-ops.js';
import { table, type Row } from './e2e/table.js';
import { rowOnLab, seededUsers } from './e2e/lab-row.js';
import { CLIENTS, type ClientSpec } from './e2e/clients.js';
import { steadyCpu, type SteadyResult } from './e2e/steady.js';

const env = (k: string, d: string) => process.env[k] ?? d;

async function runRow(spec: ClientSpec, rate: number, userCount: number, inbox: number, seconds: number, size: number): Promise<Row> {
  const row: Row = { client: spec.name, 'msg/s': rate, users: userCount, 'INBOX before': inbox, seconds };
  return rowOnLab(row, {}, async (lab) => {
    const users = await seededUsers(lab, 'cpu', userCount, ['Sent'], async (u) => {
      if (inbox > 0) await deliver(lab, u[0]!, inbox);
    });
    fs.rmSync(`${lab.syncLogDir()}/log`, { force: true });
    const runs: SteadyResult[] = [];
    for (let i = 0; i < Number(env('CPU_REPEAT', '1')); i++) runs.push(await steadyCpu(lab, spec, users, rate, seconds, size, Number(env('CPU_WARM', '20'))));
    const mid = [...runs].sort((a, b) => a.cpuMsPerMessage - b.cpuMsPerMessage)[Math.floor(runs.length / 2)]!;
    row['client CPU s'] = mid.clientCpu.toFixed(2);
    row['client CPU ms / msg'] = rate > 0 ? mid.cpuMsPerMessage.toFixed(2) : '-';
    row['client CPU s / min'] = ((mid.clientCpu * 60) / seconds).toFixed(3);
    row['main thread %'] = mid.clientCpu > 0 ? Math.round((100 * mid.mainThreadCpu) / mid.clientCpu) : '-';
    row['replica CPU s'] = mid.replicaCpu.toFixed(2);
    row['drain after last s'] = mid.tailSeconds.toFixed(2);
  });
}


async function main(): Promise<void> {
  const reason = cyrusUnavailableReason();
  if (reason) throw new Error(reason);
  const filter = new RegExp(env('CPU_CLIENTS', '^(stock|syncmux-client|syncmux run --shards [14])'));
  const clients = CLIENTS.filter((c) => filter.test(c.name));
  const seconds = Number(env('CPU_SECONDS', '30'));
  const size = Number(env('CPU_SIZE', '2000'));
  const rows: Row[] = [];
  for (const workload of env('CPU_WORKLOADS', '20x20,150x100').split(',')) {
    const [shape, inbox] = workload.split('+');
    const [rate, users] = shape!.split('x').map(Number);
    for (const spec of clients) {
      const row = await runRow(spec, rate!, users!, Number(inbox ?? 0), seconds, size);
      console.error(JSON.stringify(row));
      rows.push(row);
    }
  }
  console.log(`\nsteady-state client CPU per replicated message, ${new Date().toISOString()}, ${size}-byte messages\n`);
  console.log(table(rows));
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
