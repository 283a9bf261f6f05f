/**
 * libsasl2 against a real replica: each mechanism the replica's sasldb can
 * serve (sasl_mech_list limited to it in turn), on csync and on IMAP, then
 * stock's choice and forcing rules, and failures in stock's words.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import { CyrusLab, SYNC_USER, type CyrusLab as Lab } from '../../lab/cyrus-lab.js';
import { ByteChannel } from '../../src/protocol/byte-channel.js';
import { handshake, type HandshakeOptions } from '../../src/protocol/handshake.js';
import { Secret } from '../../src/cyrus/secret.js';
import { type SyncProtocolError } from '../../src/protocol/errors.js';
import { saslUnavailableReason } from '../../src/native/index.js';
import { skip } from '../support/skip.js';
import { cyrusSkipReason } from '../support/cyrus.js';

const reason = cyrusSkipReason() ?? saslUnavailableReason();
let lab: Lab | null = null;

async function connect(port: number, over: Partial<HandshakeOptions> = {}) {
  const channel = await ByteChannel.connect('127.0.0.1', port, { connectTimeoutMs: 5000, inactivityMs: 30_000 });
  const trace: string[] = [];
  const logs: string[] = [];
  try {
    const result = await handshake(channel, {
      authname: SYNC_USER.user, password: new Secret(SYNC_USER.password), tryImap: true, requireTls: false,
      tls: {}, compress: true, timeoutMs: 10_000, host: '127.0.0.1',
      trace: (d, l) => trace.push(`${d} ${l}`), log: (level, m) => logs.push(`${level}: ${m}`), ...over,
    });
    return { channel, result, trace, logs };
  } catch (err) {
    channel.close();
    throw Object.assign(err as Error, { trace, logs });
  }
}

/** One command after authentication proves both directions still frame (and, csync, inflate). */
async function noop(channel: ByteChannel, imap: boolean): Promise<string> {
  const reply = new Promise<string>((resolve) => {
    let text = '';
    channel.setReceiver((c) => {
      text += c.toString('latin1');
      if (/(^|\n)(N01 )?OK[^\n]*\n/.test(text)) resolve(text);
    });
  });
  channel.write(imap ? 'N01 NOOP\r\n' : 'NOOP\r\n');
  return reply;
}

async function limitReplicaMechs(mechs: string): Promise<void> {
  const file = lab!.replica.paths.imapdConf;
  fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace(/^sasl_mech_list: .*$/m, `sasl_mech_list: ${mechs}`));
  await lab!.restart(lab!.replica);
}

test.before(async () => {
  if (!reason) lab = await CyrusLab.start();
});
test.after(async () => {
  await lab?.destroy();
});

for (const mech of ['SCRAM-SHA-256', 'DIGEST-MD5', 'CRAM-MD5']) {
  test(`${mech} alone on the replica: csync and IMAP authenticate with it`, async () => {
    if (reason || !lab) return skip(`sasl ${mech}`, reason ?? 'no lab');
    await limitReplicaMechs(mech);
    for (const [port, imap] of [[lab.replica.ports.sync!, false], [lab.replica.ports.imap, true]] as const) {
      const { channel, result, trace } = await connect(port);
      try {
        assert.is(result.transport, imap ? 'imap' : 'csync');
        assert.is(result.mechanism, mech);
        // DIGEST-MD5 negotiates a privacy layer (stock's max_ssf 255): every later byte goes through it.
        if (mech === 'DIGEST-MD5') assert.ok(result.ssf > 1, `ssf ${result.ssf}`);
        else assert.is(result.ssf, 0);
        if (!imap) assert.ok(result.compressed, 'COMPRESS after SASL, as stock');
        if (imap) assert.ok(result.capabilities.has('X-REPLICATION'));
        assert.ok(trace.some((l) => l.startsWith(`> ${imap ? 'A01 ' : ''}AUTHENTICATE ${mech}`)), trace.join('\n'));
        assert.not.ok(trace.join('\n').includes(SYNC_USER.password));
        assert.match(await noop(channel, imap), /OK/);
      } finally {
        channel.close();
      }
    }
  });
}

test('stock\'s choice: libsasl2 takes the strongest offered; <shorthost>_mechs / force_sasl_client_mech narrow it', async () => {
  if (reason || !lab) return skip('sasl choice', reason ?? 'no lab');
  await limitReplicaMechs('PLAIN LOGIN CRAM-MD5 DIGEST-MD5 SCRAM-SHA-256');
  for (const port of [lab.replica.ports.sync!, lab.replica.ports.imap]) {
    let c = await connect(port);
    assert.is(c.result.mechanism, 'SCRAM-SHA-256');
    c.channel.close();
    c = await connect(port, { forceMechs: 'cram-md5 plain' });
    assert.is(c.result.mechanism, 'CRAM-MD5');
    c.channel.close();
    c = await connect(port, { forceMechs: 'PLAIN' });
    assert.is(c.result.mechanism, 'PLAIN');
    c.channel.close();
  }
});

test('eight SCRAM handshakes at once (a rolling client\'s connections), steps on the pool concurrently', async () => {
  if (reason || !lab) return skip('sasl concurrent', reason ?? 'no lab');
  await limitReplicaMechs('SCRAM-SHA-256 DIGEST-MD5');
  const all = await Promise.all(Array.from({ length: 8 }, (_, i) => connect(i % 2 ? lab!.replica.ports.imap : lab!.replica.ports.sync!)));
  try {
    for (const c of all) assert.is(c.result.mechanism, 'SCRAM-SHA-256');
    const replies = await Promise.all(all.map((c) => noop(c.channel, c.result.transport === 'imap')));
    for (const r of replies) assert.match(r, /OK/);
  } finally {
    for (const c of all) c.channel.close();
  }
});

test('a forced mechanism the replica lacks: stock\'s syslog lines, IMAP_SASL_FAIL, nothing sent', async () => {
  if (reason || !lab) return skip('sasl forced missing', reason ?? 'no lab');
  const err = (await connect(lab.replica.ports.sync!, { forceMechs: 'GSSAPI' }).then(() => null, (e: unknown) => e)) as SyncProtocolError & { logs: string[]; trace: string[] };
  assert.is(err.code, 'IMAP_SASL_FAIL');
  assert.match(err.message, /couldn't authenticate to backend server: no mechanism available/);
  assert.equal(err.logs, ['info: 127.0.0.1 did not offer GSSAPI', "err: couldn't authenticate to backend server: no mechanism available"]);
  assert.not.ok(err.trace.some((l) => l.startsWith('> ') && l.includes('AUTHENTICATE')));
});

test('a wrong password over SCRAM: "authentication failure", as stock logs it, and no secret anywhere', async () => {
  if (reason || !lab) return skip('sasl bad password', reason ?? 'no lab');
  await limitReplicaMechs('SCRAM-SHA-256');
  for (const port of [lab.replica.ports.sync!, lab.replica.ports.imap]) {
    const err = (await connect(port, { password: new Secret('wrong-secret-123') }).then(() => null, (e: unknown) => e)) as SyncProtocolError & { logs: string[]; trace: string[] };
    assert.is(err.code, 'IMAP_SASL_FAIL');
    assert.match(err.message, /couldn't authenticate to backend server: authentication failure/);
    assert.equal(err.logs, ["err: couldn't authenticate to backend server: authentication failure"]);
    assert.not.match(`${err.message}\n${err.trace.join('\n')}\n${err.logs.join('\n')}`, /wrong-secret-123/);
  }
});

test('without libsasl2 (built-in client) a SCRAM-only replica is no mechanism available, naming why', async () => {
  if (reason || !lab) return skip('sasl builtin', reason ?? 'no lab');
  await limitReplicaMechs('SCRAM-SHA-256');
  const err = (await connect(lab.replica.ports.sync!, { sasl: 'builtin' }).then(() => null, (e: unknown) => e)) as SyncProtocolError;
  assert.is(err.code, 'IMAP_SASL_FAIL');
  assert.match(err.message, /no mechanism available .*offered: SCRAM-SHA-256; without libsasl2 only PLAIN and LOGIN/);
  await limitReplicaMechs('LOGIN');
  for (const port of [lab.replica.ports.sync!, lab.replica.ports.imap]) {
    const { channel, result } = await connect(port, { sasl: 'builtin' });
    assert.is(result.mechanism, 'LOGIN');
    channel.close();
  }
});

test.run();
