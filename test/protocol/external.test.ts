/**
 * EXTERNAL over STARTTLS with a client certificate (CN = the sync user),
 * issued by the harness's throwaway CA, which the replica trusts
 * (tls_client_ca_file). The replica offers EXTERNAL alone: before TLS there
 * is nothing usable, so the client goes to TLS and tries again, as stock's
 * backend_authenticate loop does, on both transports.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
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
let clientTls: { ca: Buffer[]; cert: Buffer; key: Buffer } | null = null;

function clientCertificate(caFile: string, cn: string): { cert: Buffer; key: Buffer } {
  const dir = path.dirname(caFile);
  const f = (name: string) => path.join(dir, name);
  const openssl = (args: string[]) => execFileSync('openssl', args, { stdio: 'pipe' });
  openssl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', f('client.key'), '-out', f('client.csr'), '-subj', `/CN=${cn}`]);
  fs.writeFileSync(f('client.ext'), 'extendedKeyUsage=clientAuth\n');
  openssl(['x509', '-req', '-in', f('client.csr'), '-CA', caFile, '-CAkey', f('ca.key'), '-CAcreateserial', '-out', f('client.pem'), '-days', '2', '-extfile', f('client.ext')]);
  return { cert: fs.readFileSync(f('client.pem')), key: fs.readFileSync(f('client.key')) };
}

async function connect(port: number, over: Partial<HandshakeOptions> = {}) {
  const channel = await ByteChannel.connect('127.0.0.1', port, { connectTimeoutMs: 5000, inactivityMs: 30_000 });
  const trace: string[] = [];
  try {
    const result = await handshake(channel, {
      authname: SYNC_USER.user, password: new Secret(SYNC_USER.password), tryImap: true, requireTls: false,
      tls: { ...clientTls!, servername: 'localhost' }, compress: true, timeoutMs: 10_000, host: '127.0.0.1',
      trace: (d, l) => trace.push(`${d} ${l}`), ...over,
    });
    return { channel, result, trace };
  } catch (err) {
    channel.close();
    throw Object.assign(err as Error, { trace });
  }
}

test.before(async () => {
  if (reason) return;
  lab = await CyrusLab.start({ tls: true });
  const caFile = lab.certificates!.caFile;
  clientTls = { ca: [fs.readFileSync(caFile)], ...clientCertificate(caFile, SYNC_USER.user) };
  const conf = lab.replica.paths.imapdConf;
  fs.writeFileSync(conf, fs.readFileSync(conf, 'utf8').replace(/^sasl_mech_list: .*$/m, 'sasl_mech_list: EXTERNAL') + `tls_client_ca_file: ${caFile}\n`);
  await lab.restart(lab.replica);
});
test.after(async () => {
  await lab?.destroy();
});

test('EXTERNAL with a client certificate after STARTTLS, csync and IMAP', async () => {
  if (reason || !lab) return skip('sasl external', reason ?? 'no lab');
  for (const [port, imap] of [[lab.replica.ports.sync!, false], [lab.replica.ports.imap, true]] as const) {
    const { channel, result, trace } = await connect(port);
    try {
      assert.ok(result.encrypted);
      assert.is(result.mechanism, 'EXTERNAL', trace.join('\n'));
      assert.is(result.transport, imap ? 'imap' : 'csync');
      if (imap) assert.ok(result.capabilities.has('X-REPLICATION'));
      assert.ok(trace.some((l) => /STARTTLS/.test(l) && l.startsWith('>')), 'TLS came first: nothing was usable in the clear');
    } finally {
      channel.close();
    }
  }
});

test('without a client certificate EXTERNAL is not usable: no mechanism available, after TLS', async () => {
  if (reason || !lab) return skip('sasl external no cert', reason ?? 'no lab');
  const err = (await connect(lab.replica.ports.sync!, { tls: { ca: clientTls!.ca, servername: 'localhost' } }).then(() => null, (e: unknown) => e)) as SyncProtocolError & { trace: string[] };
  assert.is(err.code, 'IMAP_SASL_FAIL');
  assert.match(err.message, /no mechanism available/);
  assert.ok(err.trace.some((l) => l === '> STARTTLS'));
});

test.run();
