import { test } from 'uvu';
import * as assert from 'uvu/assert';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CyrusLab, SYNC_USER } from '../../lab/cyrus-lab.js';
import { compareLab } from '../../lab/compare.js';
import { createUser, deliver, withImap, imap } from '../../lab/lab-ops.js';
import { pairs } from '../../lab/imap-tokens.js';
import { SyncConnection, type ConnectOptions } from '../../src/protocol/connection.js';
import { ReplicaClient } from '../../src/protocol/replica-client.js';
import { type SyncProtocolError } from '../../src/protocol/errors.js';
import { Secret } from '../../src/cyrus/secret.js';
import { file, flags, kvlist, type DKvList } from '../../src/dlist/index.js';
import { skip } from '../support/skip.js';
import { cyrusSkipReason } from '../support/cyrus.js';

const reason = cyrusSkipReason();
let lab: CyrusLab | null = null;

function options(port: number, over: Partial<ConnectOptions> = {}): ConnectOptions {
  return {
    host: '127.0.0.1', port, authname: SYNC_USER.user, password: new Secret(SYNC_USER.password), tryImap: true,
    requireTls: false, tls: {}, compress: true, connectTimeoutMs: 5000, replyTimeoutMs: 30_000, ...over,
  };
}

const transports = () => [
  ['csync', lab!.replica.ports.sync!],
  ['imap', lab!.replica.ports.imap],
] as const;

test.before(async () => {
  if (reason) return;
  lab = await CyrusLab.start();
  await createUser(lab, 'alice');
  await deliver(lab, 'alice', 3);
  await imap(lab.master, 'alice', 'SUBSCRIBE INBOX');
  await imap(lab.master, null, 'SETQUOTA "user/alice" (STORAGE 100000)');
  const seeded = lab.stockSyncClient(['-u', 'alice']);
  if (seeded.status !== 0) throw new Error(`seeding failed: ${seeded.stderr}`);
});
test.after(async () => {
  await lab?.destroy();
});

test('every GET command on both transports, against a replica seeded by stock sync_client', async () => {
  if (reason || !lab) return skip('GET commands', reason ?? 'no lab');
  for (const [name, port] of transports()) {
    const conn = await SyncConnection.connect(options(port));
    assert.is(conn.session.transport, name);
    const replica = new ReplicaClient(conn);
    assert.equal(await replica.applyCapabilities(['SIEVE-MAILBOX']), ['SIEVE-MAILBOX']);
    const user = await replica.getUser('alice');
    const mailboxes = user.filter((i) => i.name === 'MAILBOX').map((i) => i.value.get('MBOXNAME')?.asString()).sort();
    assert.equal(mailboxes, ['user.alice', 'user.alice.Drafts', 'user.alice.Sent', 'user.alice.Trash'], name);
    assert.ok(user.some((i) => i.name === 'QUOTA' && i.value.get('STORAGE')?.asNumber() === 100000));
    assert.ok(user.some((i) => i.name === 'LSUB'));
    const [inbox] = await replica.getMailboxes(['user.alice', 'user.nobody']);
    assert.is(inbox?.value.get('LAST_UID')?.asNumber(), 3);
    const uniqueid = inbox!.value.get('UNIQUEID')!.asString()!;
    assert.is((await replica.getUniqueIds([uniqueid]))[0]?.value.get('MBOXNAME')?.asString(), 'user.alice');
    const full = await replica.getFullMailbox('user.alice');
    const records = full[0]!.value.get('RECORD')!.asList()!;
    assert.is(records.length, 3);
    const meta = await replica.getMeta('alice');
    assert.ok(meta.some((i) => i.name === 'LSUB'));
    assert.ok((await replica.getQuota('user.alice')).some((i) => i.name === 'QUOTA'));
    assert.ok(Array.isArray(await replica.getAnnotation('user.alice')));
    const guid = records[0]!.get('GUID')!.asString()!;
    const fetched = await replica.fetchMessage({ mboxname: 'user.alice', partition: 'default', uniqueid, guid, uid: 1 });
    const body = fetched[0]!.value.asBytes()!;
    assert.is(crypto.createHash('sha1').update(body).digest('hex'), guid);
    const sieve = await replica.fetchSieve('alice', 'none.script').then(() => 'found', (e: SyncProtocolError) => e.code);
    assert.is(sieve, 'IMAP_MAILBOX_NONEXISTENT');
    assert.equal(await replica.getUser('nobody'), []);
    await replica.noop();
    await replica.restart();
    await conn.close();
  }
});

test('hand-built APPLY RESERVE, MESSAGE and MAILBOX put one new message on the replica', async () => {
  if (reason || !lab) return skip('hand-built apply', reason ?? 'no lab');
  await deliver(lab, 'alice', 1, { start: 50 });
  const master = await withImap(lab.master, 'alice', async (c) => {
    const status = await c.command('STATUS INBOX (HIGHESTMODSEQ UIDNEXT)');
    await c.command('EXAMINE INBOX');
    const fetch = await c.command('UID FETCH 4 (UID MODSEQ INTERNALDATE RFC822.SIZE BODY.PEEK[])');
    const items = pairs(fetch.untagged.find((t) => t[1] === 'FETCH')![2]!);
    const st = pairs(status.untagged.find((t) => t[0] === 'STATUS')![2]!);
    return {
      highestModseq: BigInt(String(st.get('HIGHESTMODSEQ'))),
      modseq: BigInt(String((items.get('MODSEQ') as string[])[0])),
      internaldate: Math.floor(Date.parse(String(items.get('INTERNALDATE')).replace(/^(\d+)-(\w+)-(\d+) /, '$2 $1 $3 ')) / 1000),
      body: Buffer.from(String(items.get('BODY[]')), 'latin1'),
    };
  });
  const guid = crypto.createHash('sha1').update(master.body).digest('hex');
  const conn = await SyncConnection.connect(options(lab.replica.ports.sync!));
  const replica = new ReplicaClient(conn);
  const [state] = await replica.getMailboxes(['user.alice']);
  const current = state!.value as DKvList;
  assert.equal(await replica.applyReserve('default', ['user.alice'], [guid]), [guid]);
  await replica.applyMessage([file('default', guid, master.body.length, master.body)]);
  const fields: Array<[string, unknown]> = [];
  for (const [key, value] of current.entries()) {
    if (key === 'SYNC_CRC' || key === 'SYNC_CRC_ANNOT') fields.push([key, 0]);
    else if (key === 'LAST_UID') fields.push([key, 4]);
    else if (key === 'HIGHESTMODSEQ') fields.push([key, master.highestModseq]);
    else fields.push([key, value]);
  }
  fields.push(['RECORD', [kvlist({
    UID: 4, MODSEQ: master.modseq, LAST_UPDATED: master.internaldate, FLAGS: flags([]),
    INTERNALDATE: master.internaldate, SIZE: master.body.length, GUID: guid,
  })]]);
  await replica.applyMailbox(kvlist(fields as Array<[string, never]>));
  await replica.restart();
  await conn.close();
  const result = await compareLab(lab, ['alice']);
  assert.equal(result.differences, []);
});

test('a pipeline of 100 commands gives 100 in-order results, on both transports', async () => {
  if (reason || !lab) return skip('pipeline', reason ?? 'no lab');
  for (const [, port] of transports()) {
    const conn = await SyncConnection.connect(options(port));
    const replica = new ReplicaClient(conn);
    const names = Array.from({ length: 100 }, (_, i) => (i % 2 ? 'user.alice' : 'user.alice.Sent'));
    const before = conn.counters.flights;
    const results = await Promise.all(names.map((n) => replica.getMailboxes([n])));
    assert.is(conn.counters.flights - before, 1, 'one flight');
    assert.equal(results.map((r) => r[0]?.value.get('MBOXNAME')?.asString()), names);
    const mixed = await Promise.all([
      replica.getMailboxes(['user.alice']).then(() => 'ok'),
      replica.getFullMailbox('user.nonexistent').then(() => 'ok', (e: SyncProtocolError) => e.code),
      replica.noop().then(() => 'ok'),
    ]);
    assert.equal(mixed, ['ok', 'IMAP_MAILBOX_NONEXISTENT', 'ok']);
    await conn.close();
  }
});

test('a pipelined APPLY MESSAGE with large bodies, followed at once by other commands, keeps the stream in sync', async () => {
  if (reason || !lab) return skip('pipelined bodies', reason ?? 'no lab');
  for (const [, port] of transports()) {
    const conn = await SyncConnection.connect(options(port));
    const replica = new ReplicaClient(conn);
    // Bodies streamed from disk (as the engine sends them), not held in memory.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'syncmux-bodies-'));
    const files = Array.from({ length: 12 }, (_, i) => {
      const body = crypto.randomBytes(200_000 + i * 997);
      const f = path.join(dir, `${i}.`);
      fs.writeFileSync(f, body);
      return file('default', crypto.createHash('sha1').update(body).digest('hex'), body.length, { path: f });
    });
    const results = await Promise.all([
      replica.applyMessage(files).then(() => 'message'),
      replica.getMailboxes(['user.alice']).then((r) => r[0]?.value.get('MBOXNAME')?.asString()),
      replica.noop().then(() => 'noop'),
      replica.restart().then(() => 'restart'),
    ]);
    assert.equal(results, ['message', 'user.alice', 'noop', 'restart']);
    await conn.close();
    fs.rmSync(dir, { recursive: true });
  }
});

test('the replica stopped mid-command: the failure is reported as IMAP_AGAIN, then we reconnect', async () => {
  if (reason || !lab) return skip('replica stop', reason ?? 'no lab');
  const conn = await SyncConnection.connect(options(lab.replica.ports.sync!));
  const replica = new ReplicaClient(conn);
  await replica.noop();
  // Keep commands in flight (four at a time) until the connection reports the loss, so one is
  // always mid-command when the replica goes away, however fast the replica answers.
  const outcomes: string[] = [];
  const traffic = Promise.all(Array.from({ length: 4 }, async () => {
    while (!conn.failure) outcomes.push(await replica.getUser('alice').then(() => 'ok', (e: SyncProtocolError) => e.code));
  }));
  await new Promise((r) => setTimeout(r, 50));
  await lab.stopInstance(lab.replica);
  await traffic;
  assert.ok(outcomes.some((o) => o !== 'ok'), 'commands in flight fail');
  assert.ok(outcomes.every((o) => o === 'ok' || o === 'IMAP_AGAIN' || o === 'IMAP_BYE_LOGOUT'), outcomes.join(','));
  assert.ok(conn.failure);
  const refused = await SyncConnection.connect(options(lab.replica.ports.sync!)).then(() => 'connected', (e: SyncProtocolError) => e.code);
  assert.is(refused, 'IMAP_AGAIN');
  await lab.restart(lab.replica);
  const again = await SyncConnection.connect(options(lab.replica.ports.sync!));
  assert.is((await new ReplicaClient(again).getMailboxes(['user.alice'])).length, 1);
  await again.close();
});

test.run();
