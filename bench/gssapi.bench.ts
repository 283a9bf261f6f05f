/**
 * `npm run bench:gssapi`: replication through a GSSAPI security layer,
 * stock against syncmux in one run. A throwaway MIT KDC on loopback, a
 * replica offering GSSAPI (and PLAIN for the harness's own IMAP checks)
 * with its default layer limits, so GSSAPI negotiates a privacy layer and
 * every byte of the sync connection (after COMPRESS, as stock) is wrapped.
 * Per client, on a fresh lab: a burst of GSSAPI_MESSAGES (default 2000)
 * deliveries to 50 users with the client stopped, timed from its start to
 * the drain, then the latency of one message every 100 ms for
 * GSSAPI_LATENCY_SECONDS (default 10). Every row ends master == replica.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import path from 'node:path';
import { SYNC_USER } from '../lab/cyrus-lab.js';
import { cyrusUnavailableReason } from '../lab/install.js';
import { TestKdc, kdcUnavailableReason } from '../lab/test-kdc.js';
import { table, type Row } from './e2e/table.js';
import { rowOnLab, seededUsers } from './e2e/lab-row.js';
import { CLIENTS } from './e2e/clients.js';
import { burst, latency } from './e2e/workloads.js';

const num = (k: string, d: number) => Number(process.env[k] ?? d);
const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');

async function gssapiRow(kdc: TestKdc, replicaKeytab: string, spec: (typeof CLIENTS)[number]): Promise<Row> {
  const row: Row = { client: spec.name };
  const options = {
    replicaExtra: ['sasl_mech_list: GSSAPI PLAIN'],
    replicaEnv: { KRB5_CONFIG: kdc.krb5Conf, KRB5_KTNAME: `FILE:${replicaKeytab}`, KRB5RCACHETYPE: 'none' },
  };
  return rowOnLab(row, options, async (lab) => {
    const users = await seededUsers(lab, 'gss', 50, ['Sent']);
    // syncmux-client's protocol trace shows the mechanism libsasl2 took from this replica's offer
    // (stock's -v -v does not print it; both ask the same libsasl2 for the strongest one).
    const probe = spawnSync(process.execPath, [path.join(root, 'dist/bin/syncmux-client.js'), '-C', lab.master.paths.imapdConf, '-n', lab.channel, '-v', '-v', '-u', users[0]!], { encoding: 'utf8' });
    row.mechanism = /AUTHENTICATE (\S+)/.exec(probe.stderr)?.[1] ?? '?';
    const b = await burst(lab, spec, users, num('GSSAPI_MESSAGES', 2000));
    row['burst s'] = b.drainSeconds.toFixed(2);
    row['burst msg/s'] = Math.round(b.msgPerSecond);
    row['client CPU s'] = b.clientCpu.toFixed(2);
    row['replica CPU s'] = b.replicaCpu.toFixed(2);
    const l = await latency(lab, spec, users[0]!, num('GSSAPI_LATENCY_SECONDS', 10));
    row['lat p50 ms'] = l.p50.toFixed(1);
    row['lat p99 ms'] = l.p99.toFixed(1);
    return users;
  });
}

async function main(): Promise<void> {
  const reason = cyrusUnavailableReason() ?? kdcUnavailableReason();
  if (reason) throw new Error(reason);
  const kdc = await TestKdc.start();
  try {
    const replicaKeytab = path.join(kdc.dir, 'replica.keytab');
    const clientKeytab = path.join(kdc.dir, 'client.keytab');
    kdc.addPrincipal('csync/127.0.0.1', replicaKeytab);
    kdc.addPrincipal('imap/127.0.0.1', replicaKeytab);
    kdc.addPrincipal(SYNC_USER.user, clientKeytab);
    execFileSync('chown', ['cyrus:mail', replicaKeytab, clientKeytab]); // the clients become cyrus
    // Every client is started from this environment (stock's adds its Cyrus build's).
    process.env.KRB5_CONFIG = kdc.krb5Conf;
    process.env.KRB5_CLIENT_KTNAME = `FILE:${clientKeytab}`;
    process.env.KRB5CCNAME = 'MEMORY:syncmux-bench';
    const filter = new RegExp(process.env.GSSAPI_CLIENTS ?? '^(stock|syncmux-client|syncmux run --shards 4)');
    const rows: Row[] = [];
    for (const spec of CLIENTS.filter((c) => filter.test(c.name))) {
      const row = await gssapiRow(kdc, replicaKeytab, spec);
      console.error(JSON.stringify(row));
      rows.push(row);
    }
    console.log(`\nreplication through a GSSAPI privacy layer, ${new Date().toISOString()}\n`);
    console.log(table(rows));
  } finally {
    kdc.destroy();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
