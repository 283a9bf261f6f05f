import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import { CyrusLab, SYNC_USER } from '../../lab/cyrus-lab.js';
import { ByteChannel } from '../../src/protocol/byte-channel.js';
import { handshake, type HandshakeOptions } from '../../src/protocol/handshake.js';
import { Secret } from '../../src/cyrus/secret.js';
import { skip } from '../support/skip.js';
import { cyrusSkipReason } from '../support/cyrus.js';

const reason = cyrusSkipReason();
let lab: CyrusLab | null = null;

async function connect(port: number, over: Partial<HandshakeOptions>) {
  const channel = await ByteChannel.connect('127.0.0.1', port, { connectTimeoutMs: 5000, inactivityMs: 30_000 });
  try {
    return { channel, result: await handshake(channel, {
      authname: SYNC_USER.user, password: new Secret(SYNC_USER.password), tryImap: true, requireTls: true,
      tls: {}, compress: true, timeoutMs: 5000, ...over,
    }) };
  } catch (err) {
    channel.close();
    throw err;
  }
}

test.before(async () => {
  if (!reason) lab = await CyrusLab.start({ tls: true });
});
test.after(async () => {
  await lab?.destroy();
});

test('STARTTLS verified against the test CA, on csync and IMAP; no COMPRESS over TLS', async () => {
  if (reason || !lab?.certificates) return skip('starttls', reason ?? 'no lab');
  const ca = fs.readFileSync(lab.certificates.caFile);
  for (const port of [lab.replica.ports.sync!, lab.replica.ports.imap]) {
    const { channel, result } = await connect(port, { tls: { ca, servername: 'localhost' } });
    assert.ok(result.encrypted);
    assert.not.ok(result.compressed);
    channel.close();
  }
});

test('an untrusted certificate is refused', async () => {
  if (reason || !lab) return skip('starttls untrusted', reason ?? 'no lab');
  const err = await connect(lab.replica.ports.sync!, { tls: { servername: 'localhost' } }).then(() => null, (e: unknown) => e);
  assert.match(String((err as Error)?.message), /self[- ]signed|unable to verify|certificate/i);
});

test.run();
