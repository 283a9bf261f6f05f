/**
 * Replica connection throughput: commands/s for 1000 `APPLY SUB` /
 * `APPLY UNSUB` pairs (2000 commands) against a real Cyrus replica on
 * loopback, pipelined (all sent, then all awaited) vs lock-step (each
 * awaited before the next), over csync with and without COMPRESS and over
 * the IMAP transport (sync_try_imap, imapd's SYNCAPPLY). Lock-step pays
 * one round trip per command; pipelining is what the engine relies on.
 * Best of a few rounds per row. Without root and Cyrus it prints one row
 * saying why it was skipped. On loopback the replica dominates: each SUB /
 * UNSUB opens, writes and commits the user's subscription db, so
 * pipelining saves only the round trips, a small part here (more over a
 * real network).
 * Run alone: node --import tsx bench/protocol.bench.ts
 */
import { CyrusLab, SYNC_USER } from '../lab/cyrus-lab.js';
import { createUser } from '../lab/lab-ops.js';
import { cyrusUnavailableReason } from '../lab/install.js';
import { Secret } from '../src/cyrus/secret.js';
import { SyncConnection } from '../src/protocol/connection.js';
import { ReplicaClient } from '../src/protocol/replica-client.js';

type Row = Record<string, string | number>;

const PAIRS = 1000;
const ROUNDS = 3;
const USER = 'benchsub';
const MAILBOX = `user.${USER}.Sent`;

async function connect(port: number, tryImap: boolean, compress: boolean): Promise<SyncConnection> {
  return SyncConnection.connect({
    host: '127.0.0.1', port, authname: SYNC_USER.user, password: new Secret(SYNC_USER.password), tryImap,
    requireTls: false, tls: {}, compress, connectTimeoutMs: 10_000, replyTimeoutMs: 60_000,
  });
}

async function pairsPipelined(replica: ReplicaClient): Promise<void> {
  const replies: Promise<void>[] = [];
  for (let i = 0; i < PAIRS; i++) replies.push(replica.applySub(USER, MAILBOX), replica.applyUnsub(USER, MAILBOX));
  await Promise.all(replies);
}

async function pairsLockStep(replica: ReplicaClient): Promise<void> {
  for (let i = 0; i < PAIRS; i++) {
    await replica.applySub(USER, MAILBOX);
    await replica.applyUnsub(USER, MAILBOX);
  }
}

async function measure(label: string, port: number, tryImap: boolean, compress: boolean): Promise<Row[]> {
  const conn = await connect(port, tryImap, compress);
  try {
    const replica = new ReplicaClient(conn);
    await pairsPipelined(replica); // warm-up: replica caches, TCP window
    const rows: Row[] = [];
    for (const [mode, run] of [['pipelined', pairsPipelined], ['lock-step', pairsLockStep]] as const) {
      let best = Infinity;
      for (let r = 0; r < ROUNDS; r++) {
        const start = process.hrtime.bigint();
        await run(replica);
        best = Math.min(best, Number(process.hrtime.bigint() - start) / 1e6);
      }
      rows.push({
        transport: label,
        compressed: conn.session.compressed ? 'yes' : 'no',
        mode,
        commands: PAIRS * 2,
        'ms': best.toFixed(1),
        'commands/s': Math.round((PAIRS * 2 * 1000) / best),
        'µs/command': ((best * 1000) / (PAIRS * 2)).toFixed(1),
      });
    }
    return rows;
  } finally {
    await conn.close();
  }
}

export async function benchProtocol(): Promise<Row[]> {
  const reason = cyrusUnavailableReason();
  if (reason) return [{ bench: 'replica connection', skipped: reason }];
  const lab = await CyrusLab.start();
  try {
    await createUser(lab, USER, ['Sent']);
    lab.stockSyncClient(['-u', USER]); // the user and folder exist on the replica, as in production
    const sync = lab.replica.ports.sync!;
    const imap = lab.replica.ports.imap;
    return [
      ...(await measure('csync', sync, false, false)),
      ...(await measure('csync', sync, false, true)),
      ...(await measure('imap', imap, true, false)),
    ];
  } finally {
    await lab.destroy();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) console.table(await benchProtocol());
