import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { CyrusLab } from '../../lab/cyrus-lab.js';
import { compareLab } from '../../lab/compare.js';
import { appendTo, channelDrained, createUser, deliver, imap } from '../../lab/lab-ops.js';
import { skip } from '../support/skip.js';
import { cyrusSkipReason } from '../support/cyrus.js';
import { connectionsPerShard } from '../../src/engine/shard-replicator.js';

const reason = cyrusSkipReason();
const SYNCMUX = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', '..', 'src', 'cli', 'syncmux.ts');

function syncmux(args: string[]) {
  return spawnSync(process.execPath, ['--import', 'tsx', SYNCMUX, ...args], { encoding: 'utf8' });
}

async function waitFor(what: string, ok: () => boolean, ms = 60_000) {
  const deadline = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

for (const shards of [1, 4]) {
  test(`syncmux run --shards ${shards}: replicates a mixed workload, reports status, stops on SIGTERM`, async () => {
    if (reason) return skip(`syncmux run ${shards}`, reason);
    const lab = await CyrusLab.start();
    let running: ChildProcess | null = null;
    try {
      const users = ['alice', 'bob', 'carol', 'dave', 'erin', 'frank'];
      for (const u of users) await createUser(lab, u);
      const conf = lab.master.paths.imapdConf;
      const traceDir = path.join(lab.dir, 'trace');
      fs.mkdirSync(traceDir, { mode: 0o777 });
      fs.chmodSync(traceDir, 0o777); // the daemon writes it as cyrus
      const daemon = spawn(process.execPath, ['--import', 'tsx', SYNCMUX, 'run', '-C', conf, '-n', lab.channel, '--shards', String(shards)], {
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, SYNCMUX_TRACE_DIR: traceDir },
      });
      running = daemon;
      let output = '';
      daemon.stdout.on('data', (c: Buffer) => (output += c.toString()));
      daemon.stderr.on('data', (c: Buffer) => (output += c.toString()));
      const exited = new Promise<number | null>((resolve) => daemon.on('exit', (code) => resolve(code)));
      for (const u of users) await deliver(lab, u, 3);
      await appendTo(lab, 'bob', 'Sent', 2, '\\Seen');
      await imap(lab.master, 'carol', 'CREATE "Big Project"', 'RENAME Drafts Entwürfe'.replace('ü', '&APw-'));
      await imap(lab.master, 'dave', 'SELECT INBOX', 'UID STORE 1 +FLAGS (\\Flagged)', 'UNSUBSCRIBE Sent');
      await imap(lab.master, null, 'RENAME "user/erin/Trash" "user/frank/From Erin"');
      await waitFor('the channel to drain', () => channelDrained(lab));
      await new Promise((r) => setTimeout(r, 300));
      const cmp = await compareLab(lab);
      assert.equal(cmp.differences, [], output);
      await waitFor('the status file', () => fs.existsSync(path.join(lab.syncLogDir(), 'syncmux.status')), 5000);
      const status = syncmux(['status', '-C', conf, '-n', lab.channel]);
      assert.is(status.status, 0, status.stdout + status.stderr);
      assert.match(status.stdout, new RegExp(`syncmux running .* ${shards} shard`));
      const metrics = syncmux(['metrics', '-C', conf, '-n', lab.channel]);
      assert.match(metrics.stdout, /syncmux_lines_done_total\{channel="replica",shard="0"\} \d+/);
      // Replica connections: 8 in all by default, at least one per shard.
      for (let i = 0; i < shards; i++) {
        const trace = fs.readFileSync(path.join(traceDir, `trace.${i}`), 'utf8');
        assert.is(trace.match(/AUTHENTICATE PLAIN <redacted>/g)?.length, Math.ceil(8 / shards), `shard ${i}`);
      }
      daemon.kill('SIGTERM');
      assert.is(await exited, 75, output);
    } finally {
      // A failed step leaves the daemon running; its pipes would keep this process alive.
      if (running && running.exitCode === null && running.signalCode === null) running.kill('SIGKILL');
      await lab.destroy();
    }
  });
}

test('syncmux_shard_connections: default 8 in all (at least 1 per shard); explicit values win; nonsense falls back', () => {
  assert.equal([1, 2, 3, 4, 8, 16].map((n) => connectionsPerShard(undefined, n)), [8, 4, 3, 2, 1, 1]);
  assert.is(connectionsPerShard('3', 8), 3);
  assert.is(connectionsPerShard('0', 1), 8);
  assert.is(connectionsPerShard('many', 2), 4);
});

test.run();
