import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import path from 'node:path';
import { CyrusLab, freePorts } from '../../lab/cyrus-lab.js';
import { compareLab } from '../../lab/compare.js';
import { appendTo, createUser, deliver, drained, imap, waitDrained } from '../../lab/lab-ops.js';
import { skip } from '../support/skip.js';
import { cyrusSkipReason } from '../support/cyrus.js';
import { runClient, startClient } from './support.js';

const reason = cyrusSkipReason();
let lab: CyrusLab | null = null;
const conf = () => lab!.master.paths.imapdConf;

test.before(async () => {
  if (reason) return;
  lab = await CyrusLab.start();
  await createUser(lab, 'alice');
  await createUser(lab, 'bob');
  await deliver(lab, 'alice', 3);
  await appendTo(lab, 'bob', 'Sent', 2);
});
test.after(async () => {
  await lab?.destroy();
});

const realTest = (name: string, fn: () => Promise<void>) =>
  test(name, async () => {
    if (reason || !lab) return skip(name, reason ?? 'no lab');
    await fn();
  });

test('usage errors exit 64 with stock wording', async () => {
  const r = await runClient(['-C', '/nonexistent', '-u', '-m', 'x']);
  assert.is(r.status, 64);
  assert.match(r.stderr, /^Mutually exclusive options defined\n\nUsage: /);
});

realTest('-u replicates a user (Cassandane argv shape)', async () => {
  const r = await runClient(['-C', conf(), '-n', lab!.channel, '-v', '-v', '-o', '-S', '127.0.0.1', '-u', 'alice']);
  assert.is(r.status, 0, r.stderr);
  assert.not.match(r.stderr, /replpw/, 'the password never reaches stderr');
  assert.equal((await compareLab(lab!, ['alice'])).differences, []);
});

realTest('-m replicates one mailbox by its external name', async () => {
  const r = await runClient(['-C', conf(), '-n', lab!.channel, '-m', 'user/bob/Sent']);
  assert.is(r.status, 0, r.stderr);
  const cmp = await compareLab(lab!, ['bob']);
  assert.ok(cmp.differences.every((d) => !d.includes('mailbox Sent')), cmp.differences.join('\n'));
});

realTest('-A replicates every user', async () => {
  const r = await runClient(['-C', conf(), '-n', lab!.channel, '-A']);
  assert.is(r.status, 0, r.stderr);
  assert.equal((await compareLab(lab!)).differences, []);
});

realTest('-R -1 drains the channel log once; -R -f replays a file without deleting it', async () => {
  await deliver(lab!, 'alice', 2, { start: 20 });
  await imap(lab!.master, 'bob', 'CREATE Lists');
  const r = await runClient(['-C', conf(), '-n', lab!.channel, '-R', '-1']);
  assert.is(r.status, 0, r.stderr);
  assert.ok(drained(lab!));
  assert.equal((await compareLab(lab!)).differences, []);
  const file = path.join(lab!.dir, 'replay.log');
  fs.writeFileSync(file, 'USER alice\nMAILBOX user.bob.Lists\n');
  fs.chmodSync(file, 0o644);
  const f = await runClient(['-C', conf(), '-n', lab!.channel, '-R', '-f', file]);
  assert.is(f.status, 0, f.stderr);
  assert.ok(fs.existsSync(file));
});

realTest('rolling mode spreads users over syncmux_client_connections replica connections', async () => {
  const file = conf();
  const original = fs.readFileSync(file, 'utf8');
  fs.writeFileSync(file, `${original}${lab!.channel}_syncmux_client_connections: 3\n`);
  try {
    const users = ['pool1', 'pool2', 'pool3', 'pool4', 'pool5', 'pool6'];
    for (const u of users) await createUser(lab!, u);
    for (const u of users) await deliver(lab!, u, 2);
    const r = await runClient(['-C', file, '-n', lab!.channel, '-v', '-v', '-R', '-1']);
    assert.is(r.status, 0, r.stderr);
    assert.is(r.stderr.match(/AUTHENTICATE PLAIN <redacted>/g)?.length, 3, 'one handshake per connection');
    assert.ok(drained(lab!));
    assert.equal((await compareLab(lab!, users)).differences, []);
  } finally {
    fs.writeFileSync(file, original);
  }
});

realTest('rolling: replicates as changes arrive, exits 0 on the shutdown file and 75 on SIGTERM', async () => {
  const shutdown = path.join(lab!.dir, 'master', 'run', `sync-${lab!.channel}.shutdown`);
  const rolling = startClient(['-C', conf(), '-n', lab!.channel, '-R']);
  await deliver(lab!, 'bob', 2, { start: 40 });
  await waitDrained(lab!, 20_000);
  await new Promise((r) => setTimeout(r, 200));
  assert.equal((await compareLab(lab!)).differences, []);
  fs.writeFileSync(shutdown, '');
  const r = await rolling.done;
  assert.is(r.status, 0, r.stderr);
  const again = startClient(['-C', conf(), '-n', lab!.channel, '-R']);
  // Running for sure (not still loading, which a busy machine can stretch past any fixed wait): it replicated.
  await deliver(lab!, 'bob', 1, { start: 60 });
  await waitDrained(lab!, 60_000);
  again.child.kill('SIGTERM');
  assert.is((await again.done).status, 75);
});

realTest('rolling: the replica going away ends the client with 0, as stock; the lines wait in the log', async () => {
  const rolling = startClient(['-C', conf(), '-n', lab!.channel, '-R']);
  await deliver(lab!, 'bob', 1, { start: 60 });
  await waitDrained(lab!, 20_000);
  await lab!.stopInstance(lab!.replica);
  try {
    await imap(lab!.master, 'bob', 'CREATE Gone');
    const timeout = new Promise<null>((r) => setTimeout(() => r(null), 30_000));
    const r = await Promise.race([rolling.done, timeout]);
    if (!r) rolling.child.kill('SIGKILL');
    assert.ok(r, 'the client exits by itself');
    assert.is(r!.status, 0, r!.stderr);
    assert.match(fs.readFileSync(path.join(lab!.syncLogDir(), 'log'), 'latin1'), /user\.bob\.Gone/);
  } finally {
    await lab!.restart(lab!.replica);
  }
  const again = await runClient(['-C', conf(), '-n', lab!.channel, '-R', '-1']);
  assert.is(again.status, 0, again.stderr);
  assert.equal((await compareLab(lab!)).differences, []);
});

realTest("connect retries print stock's message; SIGTERM while waiting exits 75", async () => {
  const [port] = await freePorts(1);
  const c = startClient(['-C', conf(), '-n', lab!.channel, '-S', `127.0.0.1:${port}`, '-R']);
  const deadline = Date.now() + 15_000;
  while (!/Can not connect/.test(await peekStderr(c)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  c.child.kill('SIGTERM');
  const r = await c.done;
  assert.match(r.stderr, /Can not connect to server '127\.0\.0\.1:\d+', retrying in 15 seconds/);
  assert.is(r.stderr.match(/Can not connect/g)?.length, 1, 'one line per retry, as stock, however many connections wait');
  assert.is(r.status, 75);
  // -o is parsed and unused in 3.6.1 (Cassandane's rolling_retry_wait_limit passes it and expects retries).
  const once = startClient(['-C', conf(), '-n', lab!.channel, '-S', `127.0.0.1:${port}`, '-o', '-u', 'alice']);
  stderrSoFar = '';
  const until = Date.now() + 15_000;
  while (!/Can not connect/.test(await peekStderr(once)) && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
  once.child.kill('SIGTERM');
  const o = await once.done;
  assert.match(o.stderr, /Can not connect to server '127\.0\.0\.1:\d+', retrying in 15 seconds/);
  assert.is(o.status, 75);
});

let stderrSoFar = '';
function peekStderr(c: ReturnType<typeof startClient>): Promise<string> {
  c.child.stderr!.once('data', (d: Buffer) => (stderrSoFar += d.toString()));
  return Promise.resolve(stderrSoFar);
}

test.run();
