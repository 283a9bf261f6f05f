/**
 * The two end-to-end workloads, as the lab's baseline defines them:
 *  - burst: 2000 single-message LMTP deliveries round-robin to 50 users with
 *    replication stopped, then time from client start until the channel is
 *    drained (and check master == replica);
 *  - latency: one message every 100 ms to one user with the client running,
 *    timed from the LMTP reply until the replica's STATUS shows it.
 */
import { ImapClient } from '../../lab/imap-client.js';
import { ADMIN, type CyrusLab } from '../../lab/cyrus-lab.js';
import { LmtpClient, makeMessage } from '../../lab/lmtp-client.js';
import { channelDrained } from '../../lab/lab-ops.js';
import { RunningClient, type ClientSpec } from './clients.js';
import { cpuByCommandLine, cpuDelta, processCpuSeconds } from './cpu.js';

export interface BurstResult {
  messages: number;
  drainSeconds: number;
  msgPerSecond: number;
  /** CPU seconds the client process used until the drain. */
  clientCpu: number;
  /** CPU seconds the replica's Cyrus processes (sync_server) used meanwhile. */
  replicaCpu: number;
}

export async function burst(lab: CyrusLab, spec: ClientSpec, users: string[], messages: number, size?: number): Promise<BurstResult> {
  const lmtp = await LmtpClient.connect(lab.master.ports.lmtp);
  try {
    for (let i = 0; i < messages; i++) {
      const user = users[i % users.length]!;
      await lmtp.deliver(user, makeMessage(user, 1000 + i, size));
    }
  } finally {
    await lmtp.close();
  }
  const replicaBefore = cpuByCommandLine(lab.replica.paths.imapdConf);
  const started = performance.now();
  const client = RunningClient.start(spec, lab);
  try {
    const deadline = Date.now() + 600_000;
    while (!channelDrained(lab)) {
      if (client.exited) throw new Error(`${spec.name} exited early:\n${client.output.text.slice(-2000)}`);
      if (Date.now() > deadline) throw new Error(`${spec.name}: burst not drained within 10 minutes`);
      await new Promise((r) => setTimeout(r, 5));
    }
    const drainSeconds = (performance.now() - started) / 1000;
    const clientCpu = processCpuSeconds(client.pid);
    const replicaCpu = cpuDelta(replicaBefore, cpuByCommandLine(lab.replica.paths.imapdConf));
    return { messages, drainSeconds, msgPerSecond: messages / drainSeconds, clientCpu, replicaCpu };
  } finally {
    await client.stop();
  }
}

export interface LatencyResult {
  samples: number[];
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

/** Polls the replica's UIDNEXT for `user`'s INBOX every `pollMs`. */
async function uidNext(client: ImapClient): Promise<number> {
  const r = await client.command('STATUS INBOX (UIDNEXT)');
  const status = r.untagged.find((t) => t[0] === 'STATUS');
  const items = (status?.[2] ?? []) as string[];
  return Number(items[items.indexOf('UIDNEXT') + 1] ?? 0);
}

/** `onSteady` runs once the client is connected and idle, right before the first timed delivery. */
/** onSteady and beforeStop see the client's pid when the clock starts and once the last sample is in (for /proc readings). */
export async function latency(lab: CyrusLab, spec: ClientSpec, user: string, seconds: number, onSteady: (pid: number | undefined) => void = () => {}, intervalMs = 100, beforeStop?: (pid: number | undefined) => void): Promise<LatencyResult> {
  const client = RunningClient.start(spec, lab);
  const lmtp = await LmtpClient.connect(lab.master.ports.lmtp);
  const replica = await ImapClient.login(lab.replica.ports.imap, ADMIN.user, ADMIN.password, user);
  const samples: number[] = [];
  try {
    // Let the client connect and drain anything pending first.
    const warm = Date.now() + 30_000;
    while (!channelDrained(lab) && Date.now() < warm) await new Promise((r) => setTimeout(r, 20));
    await new Promise((r) => setTimeout(r, 1500));
    const count = Math.round((seconds * 1000) / intervalMs);
    const base = await uidNext(replica);
    onSteady(client.pid);
    const delivered: number[] = [];
    const seen: number[] = [];
    // Deliveries keep their 100 ms schedule whatever the replication delay, as the lab's baseline does;
    // a separate poller notes when the replica's UIDNEXT passes each message.
    const poller = (async () => {
      const deadline = performance.now() + seconds * 1000 + 30_000;
      while (seen.length < count && performance.now() < deadline) {
        if (client.exited) throw new Error(`${spec.name} exited:\n${client.output.text.slice(-2000)}`);
        const next = await uidNext(replica);
        const now = performance.now();
        while (seen.length < count && base + seen.length < next) seen.push(now);
        await new Promise((r) => setTimeout(r, 2));
      }
    })();
    const started = performance.now();
    for (let i = 0; i < count; i++) {
      const wait = started + i * intervalMs - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      await lmtp.deliver(user, makeMessage(user, 5000 + i));
      delivered.push(performance.now());
    }
    await poller;
    if (seen.length < count) throw new Error(`${spec.name}: only ${seen.length} of ${count} messages reached the replica`);
    for (let i = 0; i < count; i++) samples.push(Math.max(0, seen[i]! - delivered[i]!));
    beforeStop?.(client.pid);
  } finally {
    replica.close();
    await lmtp.close();
    await client.stop();
  }
  const sorted = [...samples].sort((a, b) => a - b);
  return { samples, p50: percentile(sorted, 50), p90: percentile(sorted, 90), p99: percentile(sorted, 99), max: sorted[sorted.length - 1] ?? NaN };
}
