/**
 * `npm run bench:cap`: does an upload cap hold over a catch-up? A backlog
 * of CAP_SECONDS (default 30) worth of messages at the cap is replayed by
 * each client against a replica that already has the users, on a master
 * whose imapd.conf sets one cap: syncmux_max_messages_per_second
 * (CAP_MESSAGES, default 40, small messages) or syncmux_max_bytes_per_second
 * (CAP_BYTES, default 1 MB/s, CAP_SIZE-byte messages, default 32 KiB). The
 * caps count message bodies, not protocol bytes. "held" is the rate past
 * the allowed one-second burst over the whole drain, against the cap: the
 * goal is within 10 %. Stock has no such setting; its row shows the
 * uncapped speed of the same backlog. Every row ends with master == replica.
 */
import path from 'node:path';
import { cyrusUnavailableReason } from '../lab/install.js';
import { table, type Row } from './e2e/table.js';
import { rowOnLab, seededUsers } from './e2e/lab-row.js';
import { CLIENTS } from './e2e/clients.js';
import { burst } from './e2e/workloads.js';

const num = (k: string, d: number) => Number(process.env[k] ?? d);

interface Cap {
  key: 'syncmux_max_messages_per_second' | 'syncmux_max_bytes_per_second';
  rate: number;
  size: number;
  /** Units one message takes from the cap. */
  units(size: number): number;
}

const CAPS: Cap[] = [
  { key: 'syncmux_max_messages_per_second', rate: num('CAP_MESSAGES', 40), size: 800, units: () => 1 },
  { key: 'syncmux_max_bytes_per_second', rate: num('CAP_BYTES', 1_000_000), size: num('CAP_SIZE', 32 * 1024), units: (size) => size },
];

async function capRow(cap: Cap, spec: (typeof CLIENTS)[number]): Promise<Row> {
  const seconds = num('CAP_SECONDS', 30);
  const row: Row = { cap: `${cap.key.replace('syncmux_max_', '')} ${cap.rate}`, client: spec.name };
  return rowOnLab(row, { masterExtra: [`${cap.key}: ${cap.rate}`] }, async (lab) => {
    const users = await seededUsers(lab, 'cap', 20, []);
    // The message as delivered is a little larger than asked for (headers); the cap counts what Cyrus stored.
    const perMessage = cap.units(cap.size);
    const messages = Math.ceil(((seconds + 1) * cap.rate) / perMessage);
    const r = await burst(lab, spec, users, messages, cap.size);
    const units = messages * perMessage;
    const sustained = (units - cap.rate) / r.drainSeconds; // past the one second the cap lets through at once
    row.messages = messages;
    row.seconds = r.drainSeconds.toFixed(2);
    row['rate /s'] = Math.round(units / r.drainSeconds);
    row['held, past the burst'] = spec.name.startsWith('stock') ? 'no cap' : `${((100 * sustained) / cap.rate).toFixed(1)} %`;
    row['client CPU s'] = r.clientCpu.toFixed(2);
    return users;
  });
}

async function main(): Promise<void> {
  const reason = cyrusUnavailableReason();
  if (reason) throw new Error(reason);
  const filter = new RegExp(process.env.CAP_CLIENTS ?? '^(stock|syncmux-client|syncmux run --shards 4)');
  const rows: Row[] = [];
  for (const cap of CAPS) {
    for (const spec of CLIENTS.filter((c) => filter.test(c.name))) {
      const row = await capRow(cap, spec);
      console.error(JSON.stringify(row));
      rows.push(row);
    }
  }
  console.log(`\nupload caps over a catch-up, ${new Date().toISOString()} (${path.basename(process.argv[1] ?? '')})\n`);
  console.log(table(rows));
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
