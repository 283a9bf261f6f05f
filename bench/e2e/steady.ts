/**
 * The steady-state CPU workload: with the client already running, connected
 * and idle, LMTP-deliver `rate` messages a second round-robin to `users`
 * for `seconds`, wait until the channel is drained, and charge the client
 * the CPU (all its threads, from /proc) it spent from the first delivery to
 * the drain. No startup is in the window, so this is what a busy master
 * pays per replicated message. Rate 0 is the idle row: nothing is
 * delivered in the window. A warm-up at the same rate comes first
 * (warmSeconds): V8 compiles hot code only after many calls, and a
 * long-running client's steady state is its compiled state.
 */
import { channelDrained } from '../../lab/lab-ops.js';
import type { CyrusLab } from '../../lab/cyrus-lab.js';
import { LmtpClient, makeMessage } from '../../lab/lmtp-client.js';
import { RunningClient, type ClientSpec } from './clients.js';
import { cpuByCommandLine, cpuDelta, processCpuSeconds, threadCpuSeconds } from './cpu.js';

export interface SteadyResult {
  messages: number;
  /** Client CPU seconds over the window. */
  clientCpu: number;
  /** Client CPU milliseconds per delivered message. */
  cpuMsPerMessage: number;
  /** The part of clientCpu spent on the process's main thread (the event loop; for the daemon, the splitter's). */
  mainThreadCpu: number;
  /** Replica CPU seconds over the window. */
  replicaCpu: number;
  /** Seconds from the last delivery until the channel was drained. */
  tailSeconds: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function drained(lab: CyrusLab, client: RunningClient, name: string, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!channelDrained(lab)) {
    if (client.exited) throw new Error(`${name} exited early:\n${client.output.text.slice(-2000)}`);
    if (Date.now() > deadline) throw new Error(`${name}: not drained within ${ms} ms`);
    await sleep(5);
  }
}

/** `rate` messages a second for `seconds`, round-robin over users, on two LMTP connections. */
async function deliverAtRate(lmtp: LmtpClient[], users: string[], rate: number, seconds: number, size: number, firstIndex: number): Promise<void> {
  const count = Math.round(rate * seconds);
  const started = performance.now();
  const inFlight: Array<Promise<void>> = [Promise.resolve(), Promise.resolve()];
  for (let i = 0; i < count; i++) {
    const wait = started + (i * 1000) / rate - performance.now();
    if (wait > 0) await sleep(wait);
    const user = users[i % users.length]!;
    const slot = i % 2;
    await inFlight[slot];
    inFlight[slot] = lmtp[slot]!.deliver(user, makeMessage(user, firstIndex + i, size)).then(() => {});
  }
  await Promise.all(inFlight);
}

export async function steadyCpu(lab: CyrusLab, spec: ClientSpec, users: string[], rate: number, seconds: number, size = 2000, warmSeconds = 0): Promise<SteadyResult> {
  const client = RunningClient.start(spec, lab);
  // Two LMTP connections, so a slow delivery does not hold the schedule back at higher rates.
  const lmtp = await Promise.all([LmtpClient.connect(lab.master.ports.lmtp), LmtpClient.connect(lab.master.ports.lmtp)]);
  try {
    await drained(lab, client, spec.name, 60_000);
    await sleep(2000); // connected, caught up, idle
    if (warmSeconds > 0 && rate > 0) {
      await deliverAtRate(lmtp, users, rate, warmSeconds, size, 10_000_000);
      await drained(lab, client, spec.name, 120_000);
    } else if (warmSeconds > 0) {
      await sleep(warmSeconds * 1000); // idle: past start-up's tail (V8 shrinking the heaps it grew while loading)
    }
    const count = Math.round(rate * seconds);
    const cpuBefore = processCpuSeconds(client.pid);
    const mainBefore = threadCpuSeconds(client.pid).get(client.pid!) ?? 0;
    const replicaBefore = cpuByCommandLine(lab.replica.paths.imapdConf);
    if (rate > 0) await deliverAtRate(lmtp, users, rate, seconds, size, 20_000);
    else await sleep(seconds * 1000); // idle: what a connected client costs with nothing to do
    const lastDelivery = performance.now();
    await drained(lab, client, spec.name, 120_000);
    const tailSeconds = (performance.now() - lastDelivery) / 1000;
    const clientCpu = processCpuSeconds(client.pid) - cpuBefore;
    const mainThreadCpu = (threadCpuSeconds(client.pid).get(client.pid!) ?? 0) - mainBefore;
    const replicaCpu = cpuDelta(replicaBefore, cpuByCommandLine(lab.replica.paths.imapdConf));
    return { messages: count, clientCpu, cpuMsPerMessage: count > 0 ? (clientCpu * 1000) / count : NaN, mainThreadCpu, replicaCpu, tailSeconds };
  } finally {
    await Promise.all(lmtp.map((c) => c.close()));
    await client.stop();
  }
}
