/**
 * SIGTERM ends `syncmux-client` within sync_timeout with stock's exit 75, in
 * every state: its start delay (-d), reconnecting to a stopped replica,
 * waiting for the log lock or for mailboxes.db, and mid-upload behind a
 * replica that hangs. Each case brings the client into the state, stops it
 * and measures.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import path from 'node:path';
import { CyrusLab } from '../../lab/cyrus-lab.js';
import { createUser, deliver } from '../../lab/lab-ops.js';
import { cyrusSkipReason } from '../support/cyrus.js';
import { sleep, waitFor } from '../support/daemon.js';
import { holdLock, StallProxy, stopTimed } from '../support/signals.js';
import { skip } from '../support/skip.js';
import { startClient } from './support.js';

const reason = cyrusSkipReason();
const SYNC_TIMEOUT = 10;
const BOUND_MS = SYNC_TIMEOUT * 1000 + 1500;
const timings: string[] = [];

function uidOf(pid: number): number {
  try {
    return Number(/^Uid:\s*(\d+)/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))![1]);
  } catch {
    return -1;
  }
}

type Client = ReturnType<typeof startClient> & { output: () => string };

async function withClient(state: string, args: (lab: CyrusLab) => string[], setUp: (lab: CyrusLab) => Promise<(() => Promise<void>) | void>, bringUp: (lab: CyrusLab, c: Client) => Promise<void>, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  const lab = await CyrusLab.start({ masterExtra: [`sync_timeout: ${SYNC_TIMEOUT}`] });
  let client: Client | null = null;
  let cleanUp: (() => Promise<void>) | void = undefined;
  try {
    cleanUp = await setUp(lab);
    const started = startClient(['-C', lab.master.paths.imapdConf, '-n', lab.channel, '-v', ...args(lab)]);
    let text = '';
    started.child.stderr!.on('data', (c: Buffer) => (text += c.toString()));
    client = { ...started, output: () => text };
    await bringUp(lab, client);
    const exited = client.done.then((r) => r.status ?? r.signal);
    const { code, ms } = await stopTimed(client.child, exited, signal);
    timings.push(`${state}: ${ms} ms`);
    process.stdout.write(`  stop while ${state}: exit ${code} after ${ms} ms\n`);
    assert.is(code, 75, `${state}\n${client.output().slice(-3000)}`);
    assert.ok(ms < BOUND_MS, `${state}: took ${ms} ms\n${client.output().slice(-3000)}`);
    client = null;
  } finally {
    if (client) {
      client.child.kill('SIGKILL');
      await client.done;
    }
    if (cleanUp) await cleanUp();
    await lab.destroy();
  }
}

test('SIGTERM during the start delay (-w)', async () => {
  if (reason) return skip('client signals', reason);
  await withClient('start delay', () => ['-R', '-w', '60'], async () => {}, async (_lab, c) => {
    // It became cyrus: its code runs, and it waits out -w.
    await waitFor('the switch to cyrus', () => uidOf(c.child.pid!) !== 0, 20_000, 20);
    await sleep(500);
  });
});

test('SIGTERM while reconnecting to a stopped replica', async () => {
  if (reason) return skip('client signals', reason);
  await withClient('reconnecting', () => ['-R'], async (lab) => {
    await createUser(lab, 'csig1');
    await lab.stopInstance(lab.replica);
  }, async (_lab, c) => {
    await waitFor('a reconnect wait', () => /retrying in 15 seconds/.test(c.output()), 10_000);
    await sleep(1000);
  });
});

test('SIGQUIT and SIGINT while reconnecting (-u)', async () => {
  if (reason) return skip('client signals', reason);
  for (const signal of ['SIGQUIT', 'SIGINT'] as const) {
    await withClient(`reconnecting, -u (${signal})`, () => ['-u', 'csig5'], async (lab) => {
      await createUser(lab, 'csig5');
      await lab.stopInstance(lab.replica);
    }, async (_lab, c) => {
      await waitFor('a reconnect wait', () => /retrying in 15 seconds/.test(c.output()), 10_000);
    }, signal);
  }
});

test('SIGTERM while waiting for the log lock (-R)', async () => {
  if (reason) return skip('client signals', reason);
  await withClient('waiting for the log lock', () => ['-R'], async (lab) => {
    await createUser(lab, 'csig2');
    const holder = await holdLock(path.join(lab.syncLogDir(), 'log'));
    return holder.release;
  }, async (lab) => {
    await waitFor('the hand-off', () => fs.existsSync(path.join(lab.syncLogDir(), 'log-run')), 10_000);
    await sleep(1000);
  });
});

test('SIGTERM while waiting for mailboxes.db (-u)', async () => {
  if (reason) return skip('client signals', reason);
  await withClient('waiting for mailboxes.db', () => ['-u', 'csig3'], async (lab) => {
    await createUser(lab, 'csig3');
    const holder = await holdLock(path.join(lab.master.paths.configDirectory, 'mailboxes.db'));
    return holder.release;
  }, async () => {
    await sleep(2000);
  });
});

test('SIGTERM mid-upload behind a replica that stalled (-R)', async () => {
  if (reason) return skip('client signals', reason);
  let proxy: StallProxy | null = null;
  await withClient('mid-upload', () => ['-R'], async (lab) => {
    await createUser(lab, 'csig4');
    proxy = await StallProxy.start(lab.replica.ports.sync!);
    const conf = lab.master.paths.imapdConf;
    fs.writeFileSync(conf, fs.readFileSync(conf, 'utf8').replace(new RegExp(`^${lab.channel}_sync_port: .*$`, 'm'), `${lab.channel}_sync_port: ${proxy.port}`));
    return () => proxy!.close();
  }, async (lab) => {
    await waitFor('the first pass', () => !fs.existsSync(path.join(lab.syncLogDir(), 'log')) && !fs.existsSync(path.join(lab.syncLogDir(), 'log-run')), 20_000, 100);
    proxy!.stall();
    await deliver(lab, 'csig4', 1, { size: 60_000 });
    await waitFor('the upload under way', () => proxy!.bytesHeld > 200, 20_000);
    await sleep(500);
  });
});

test.after(() => {
  process.stdout.write(`stop times: ${timings.join('; ')}\n`);
});
test.run();
