/**
 * GSSAPI against real components: a throwaway MIT KDC on loopback, a
 * replica with its own keytab (csync/ and imap/ service principals), the
 * client principal's keys in KRB5_CLIENT_KTNAME. The engine replicates over
 * csync (with COMPRESS) and over IMAP: with the replica refusing a security
 * layer (sasl_maximum_layer: 0), allowing integrity only
 * (sasl_maximum_layer: 1) and requiring privacy (sasl_minimum_layer: 56),
 * with messages large enough (> 1 MB a round) that wrapping crosses many
 * 4 KB layer buffers. Then AES-256 keys, where stock's max_ssf 255 rules
 * out privacy: a replica that demands it is refused in stock's words.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { CyrusLab, SYNC_USER } from '../../lab/cyrus-lab.js';
import { compareLab } from '../../lab/compare.js';
import { createUser, deliver } from '../../lab/lab-ops.js';
import { TestKdc, kdcUnavailableReason } from '../../lab/test-kdc.js';
import { saslUnavailableReason } from '../../src/native/index.js';
import { ByteChannel } from '../../src/protocol/byte-channel.js';
import { handshake } from '../../src/protocol/handshake.js';
import { type SyncProtocolError } from '../../src/protocol/errors.js';
import { Secret } from '../../src/cyrus/secret.js';
import { skip } from '../support/skip.js';
import { cyrusSkipReason } from '../support/cyrus.js';
import { engineFor } from './support.js';

const reason = cyrusSkipReason() ?? saslUnavailableReason() ?? kdcUnavailableReason();

function setLine(file: string, key: string, value: string | null): void {
  const lines = fs.readFileSync(file, 'utf8').split('\n').filter((l) => !l.startsWith(`${key}:`));
  if (value !== null) lines.splice(lines.length - 1, 0, `${key}: ${value}`);
  fs.writeFileSync(file, lines.join('\n'));
}

test('GSSAPI: csync and IMAP, without and with a security layer, > 1 MB through the layer', async () => {
  if (reason) return skip('gssapi replication', reason);
  const kdc = await TestKdc.start();
  let lab: CyrusLab | null = null;
  try {
    const replicaKeytab = path.join(kdc.dir, 'replica.keytab');
    const clientKeytab = path.join(kdc.dir, 'client.keytab');
    kdc.addPrincipal('csync/127.0.0.1', replicaKeytab);
    kdc.addPrincipal('imap/127.0.0.1', replicaKeytab);
    kdc.addPrincipal(SYNC_USER.user, clientKeytab);
    // Stock sync_client, run for comparison, becomes cyrus: it must read the client keytab too.
    execFileSync('chown', ['cyrus:mail', replicaKeytab, clientKeytab]);
    // This process is the client (and passes them on to stock's): libkrb5 reads these when GSSAPI first runs.
    process.env.KRB5_CONFIG = kdc.krb5Conf;
    process.env.KRB5_CLIENT_KTNAME = `FILE:${clientKeytab}`;
    process.env.KRB5CCNAME = 'MEMORY:syncmux-test';
    lab = await CyrusLab.start({
      // PLAIN stays for the harness's own IMAP checks; libsasl2 still prefers GSSAPI.
      replicaExtra: ['sasl_mech_list: GSSAPI PLAIN', 'sasl_maximum_layer: 0'],
      replicaEnv: { KRB5_CONFIG: kdc.krb5Conf, KRB5_KTNAME: `FILE:${replicaKeytab}`, KRB5RCACHETYPE: 'none' },
    });
    const masterConf = lab.master.paths.imapdConf;
    const replicaConf = lab.replica.paths.imapdConf;
    await createUser(lab, 'alice');
    let n = 0;
    for (const layer of ['none', 'integrity', 'privacy'] as const) {
      if (layer !== 'none') {
        setLine(replicaConf, 'sasl_maximum_layer', layer === 'integrity' ? '1' : null);
        setLine(replicaConf, 'sasl_minimum_layer', layer === 'integrity' ? null : '56');
        await lab.restart(lab.replica);
      }
      for (const transport of ['csync', 'imap'] as const) {
        setLine(masterConf, `${lab.channel}_sync_port`, String(transport === 'imap' ? lab.replica.ports.imap : lab.replica.ports.sync));
        setLine(masterConf, `${lab.channel}_sync_try_imap`, transport === 'imap' ? '1' : '0');
        const eut = engineFor(lab);
        try {
          const session = await eut.engine.connect();
          const s = session.replica.connection.session;
          assert.is(s.transport, transport);
          assert.is(s.mechanism, 'GSSAPI');
          assert.is(s.ssf, layer === 'none' ? 0 : layer === 'integrity' ? 1 : 128);
          if (transport === 'csync') assert.ok(s.compressed, 'COMPRESS over GSSAPI, as stock');
          // ~1.5 MB of mail each round: every byte crosses the layer when there is one.
          await deliver(lab, 'alice', 3, { size: 500_000, start: n });
          n += 3;
          assert.equal((await eut.drain()).failed, [], eut.logs.join('\n'));
          // A replica that demands privacy refuses the harness's own PLAIN checks: compare at the end.
          if (layer !== 'privacy') assert.equal((await compareLab(lab)).differences, [], `${transport} layer=${layer}`);
          // Stock authenticates the same way against the same replica.
          await deliver(lab, 'alice', 1, { start: n++ });
          const stock = lab.stockSyncClient(['-v', '-u', 'alice'], { check: false });
          assert.is(stock.status, 0, `stock sync_client, ${transport} layer=${layer}: ${stock.stderr}`);
        } finally {
          await eut.engine.close();
        }
      }
    }
    setLine(replicaConf, 'sasl_minimum_layer', null);
    await lab.restart(lab.replica);
    assert.equal((await compareLab(lab)).differences, [], 'after the privacy rounds');
  } finally {
    await lab?.destroy();
    kdc.destroy();
  }
});

test('GSSAPI with AES-256 keys: stock\'s max_ssf 255 gives integrity at most; a replica demanding privacy refuses', async () => {
  if (reason) return skip('gssapi aes256', reason);
  const kdc = await TestKdc.start('SYNCMUX.TEST', { enctypes: 'aes256-cts-hmac-sha1-96' });
  let lab: CyrusLab | null = null;
  try {
    const replicaKeytab = path.join(kdc.dir, 'replica.keytab');
    const clientKeytab = path.join(kdc.dir, 'client.keytab');
    kdc.addPrincipal('csync/127.0.0.1', replicaKeytab);
    kdc.addPrincipal('imap/127.0.0.1', replicaKeytab);
    kdc.addPrincipal(SYNC_USER.user, clientKeytab);
    execFileSync('chown', ['cyrus:mail', replicaKeytab]);
    process.env.KRB5_CONFIG = kdc.krb5Conf;
    process.env.KRB5_CLIENT_KTNAME = `FILE:${clientKeytab}`;
    process.env.KRB5CCNAME = 'MEMORY:syncmux-test-aes256';
    lab = await CyrusLab.start({
      replicaExtra: ['sasl_mech_list: GSSAPI'],
      replicaEnv: { KRB5_CONFIG: kdc.krb5Conf, KRB5_KTNAME: `FILE:${replicaKeytab}`, KRB5RCACHETYPE: 'none' },
    });
    const options = (port: number) => ({
      authname: SYNC_USER.user, password: new Secret(SYNC_USER.password), tryImap: true, requireTls: false,
      tls: {}, compress: true, timeoutMs: 10_000, host: '127.0.0.1', port,
    });
    for (const port of [lab.replica.ports.sync!, lab.replica.ports.imap]) {
      const channel = await ByteChannel.connect('127.0.0.1', port, { connectTimeoutMs: 5000, inactivityMs: 30_000 });
      try {
        const r = await handshake(channel, options(port));
        assert.is(r.mechanism, 'GSSAPI');
        assert.is(r.ssf, 1, 'integrity, not privacy');
      } finally {
        channel.close();
      }
    }
    const conf = lab.replica.paths.imapdConf;
    fs.appendFileSync(conf, 'sasl_minimum_layer: 56\n');
    await lab.restart(lab.replica);
    for (const port of [lab.replica.ports.sync!, lab.replica.ports.imap]) {
      const channel = await ByteChannel.connect('127.0.0.1', port, { connectTimeoutMs: 5000, inactivityMs: 30_000 });
      const logs: string[] = [];
      try {
        const err = await handshake(channel, { ...options(port), log: (l, m) => logs.push(`${l}: ${m}`) }).then(() => null, (e: unknown) => e);
        assert.is((err as SyncProtocolError).code, 'IMAP_SASL_FAIL');
        assert.equal(logs, ["err: couldn't authenticate to backend server: mechanism too weak for this user"]);
      } finally {
        channel.close();
      }
    }
    // The KDC out of reach (and no ticket cached): a failure that waiting may cure, retried like stock.
    kdc.stop();
    process.env.KRB5CCNAME = 'MEMORY:syncmux-test-no-kdc';
    const channel = await ByteChannel.connect('127.0.0.1', lab.replica.ports.sync!, { connectTimeoutMs: 5000, inactivityMs: 30_000 });
    try {
      const err = (await handshake(channel, options(lab.replica.ports.sync!)).then(() => null, (e: unknown) => e)) as SyncProtocolError;
      assert.is(err.code, 'IMAP_AGAIN', err.message);
      assert.ok(err.transient);
      assert.match(err.message, /couldn't authenticate to backend server: generic failure \(.*KDC/);
      assert.not.match(err.message, new RegExp(SYNC_USER.password));
    } finally {
      channel.close();
    }
  } finally {
    await lab?.destroy();
    kdc.destroy();
  }
});

test.run();
