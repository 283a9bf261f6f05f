import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { CyrusLab, SYNC_USER, type CyrusLab as Lab } from '../../lab/cyrus-lab.js';
import { ByteChannel } from '../../src/protocol/byte-channel.js';
import { handshake, type HandshakeOptions } from '../../src/protocol/handshake.js';
import { Secret } from '../../src/cyrus/secret.js';
import { SyncProtocolError } from '../../src/protocol/errors.js';
import { skip } from '../support/skip.js';
import { cyrusSkipReason } from '../support/cyrus.js';

const reason = cyrusSkipReason();
let lab: Lab | null = null;

function options(over: Partial<HandshakeOptions> = {}): HandshakeOptions {
  return {
    authname: SYNC_USER.user, password: new Secret(SYNC_USER.password), tryImap: true, requireTls: false,
    tls: {}, compress: true, timeoutMs: 5000, ...over,
  };
}

async function connect(port: number, over: Partial<HandshakeOptions> = {}) {
  const channel = await ByteChannel.connect('127.0.0.1', port, { connectTimeoutMs: 5000, inactivityMs: 30_000 });
  const trace: string[] = [];
  try {
    const result = await handshake(channel, options({ trace: (d, l) => trace.push(`${d} ${l}`), ...over }));
    return { channel, result, trace };
  } catch (err) {
    channel.close();
    throw err;
  }
}

test.before(async () => {
  if (!reason) lab = await CyrusLab.start();
});
test.after(async () => {
  await lab?.destroy();
});

test('csync: banner, AUTHENTICATE PLAIN, COMPRESS DEFLATE, then a command over deflate', async () => {
  if (reason || !lab) return skip('csync handshake', reason ?? 'no lab');
  const { channel, result, trace } = await connect(lab.replica.ports.sync!);
  assert.is(result.transport, 'csync');
  assert.ok(result.compressed);
  assert.ok(result.capabilities.has('SIEVE-MAILBOX'));
  assert.ok(trace.some((l) => l === '> AUTHENTICATE PLAIN <redacted>'));
  assert.not.ok(trace.some((l) => l.includes(Buffer.from(`\0${SYNC_USER.user}\0${SYNC_USER.password}`).toString('base64'))));
  const reply = new Promise<string>((resolve) => channel.setReceiver((c) => resolve(c.toString())));
  channel.write('NOOP\r\n');
  assert.match(await reply, /^OK/);
  channel.close();
});

test('csync without compression', async () => {
  if (reason || !lab) return skip('csync no compress', reason ?? 'no lab');
  const { channel, result } = await connect(lab.replica.ports.sync!, { compress: false });
  assert.not.ok(result.compressed);
  channel.close();
});

test('IMAP-embedded: X-REPLICATION after login', async () => {
  if (reason || !lab) return skip('imap handshake', reason ?? 'no lab');
  const { channel, result } = await connect(lab.replica.ports.imap);
  assert.is(result.transport, 'imap');
  assert.ok(result.capabilities.has('X-REPLICATION'));
  channel.close();
});

test('wrong password fails with IMAP_SASL_FAIL and never shows the password', async () => {
  if (reason || !lab) return skip('bad password', reason ?? 'no lab');
  const err = await connect(lab.replica.ports.sync!, { password: new Secret('wrong-secret-123') }).then(() => null, (e: unknown) => e);
  assert.instance(err, SyncProtocolError);
  assert.is((err as SyncProtocolError).code, 'IMAP_SASL_FAIL');
  assert.not.match(String((err as Error).message), /wrong-secret-123/);
});

test('require-TLS against a plaintext-only replica fails closed, before any credential is sent', async () => {
  if (reason || !lab) return skip('require tls', reason ?? 'no lab');
  for (const port of [lab.replica.ports.sync!, lab.replica.ports.imap]) {
    const trace: string[] = [];
    const err = await connect(port, { requireTls: true, trace: (d, l) => trace.push(`${d} ${l}`) }).then(() => null, (e: unknown) => e);
    assert.is((err as SyncProtocolError).code, 'IMAP_TLS_REQUIRED');
    assert.match((err as Error).message, 'allowstarttls: yes', 'names the setting newer replicas need');
    assert.not.ok(trace.some((l) => l.startsWith('>') && /AUTHENTICATE|LOGIN/.test(l)), trace.join('\n'));
  }
});

test('sync_try_imap off refuses an IMAP port', async () => {
  if (reason || !lab) return skip('try imap off', reason ?? 'no lab');
  const err = await connect(lab.replica.ports.imap, { tryImap: false }).then(() => null, (e: unknown) => e);
  assert.is((err as SyncProtocolError).code, 'IMAP_PROTOCOL_ERROR');
});

test('Secret never prints', () => {
  const s = new Secret('hunter2');
  assert.not.match(`${s} ${JSON.stringify({ s })} ${String(s)}`, /hunter2/);
  assert.is(s.reveal(), 'hunter2');
});

test.run();
