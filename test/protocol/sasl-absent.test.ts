/**
 * A host without libsasl2: the addon still loads (everything else in it
 * works), and the handshake speaks its own PLAIN/LOGIN to a real replica.
 * The library is hidden from one child process only, in a private mount
 * namespace (unshare -m, then /dev/null bound over libsasl2.so.2).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { CyrusLab, SYNC_USER } from '../../lab/cyrus-lab.js';
import { skip } from '../support/skip.js';
import { cyrusSkipReason } from '../support/cyrus.js';

const LIBDIR = '/usr/lib/x86_64-linux-gnu';
const lib = path.join(LIBDIR, 'libsasl2.so.2');
const reason = cyrusSkipReason()
  ?? (!fs.existsSync(lib) ? `${lib} is not installed (nothing to hide)` : null)
  ?? (!fs.existsSync('/usr/bin/unshare') ? 'unshare(1) missing' : null)
  ?? (process.getuid?.() !== 0 ? 'hiding a library needs root (unshare -m)' : null);

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', '..');

test('without libsasl2: the addon loads, and the built-in PLAIN authenticates on csync and IMAP', async () => {
  if (reason) return skip('no libsasl2', reason);
  const lab = await CyrusLab.start();
  try {
    const script = `
      const n = await import('./src/native/index.ts');
      const { ByteChannel } = await import('./src/protocol/byte-channel.ts');
      const { handshake } = await import('./src/protocol/handshake.ts');
      const { Secret } = await import('./src/cyrus/secret.ts');
      const out = { reason: n.saslUnavailableReason(), shard: n.shardOf('tom', 4), mechs: [] };
      for (const port of [${lab.replica.ports.sync}, ${lab.replica.ports.imap}]) {
        const ch = await ByteChannel.connect('127.0.0.1', port, { connectTimeoutMs: 5000, inactivityMs: 0 });
        const r = await handshake(ch, { authname: ${JSON.stringify(SYNC_USER.user)}, password: new Secret(${JSON.stringify(SYNC_USER.password)}),
          tryImap: true, requireTls: false, tls: {}, compress: true, timeoutMs: 5000, host: '127.0.0.1' });
        out.mechs.push(r.transport + ':' + r.mechanism);
        ch.close();
      }
      console.log(JSON.stringify(out));`;
    const r = spawnSync('unshare', ['-m', 'sh', '-c', `mount --bind /dev/null ${lib} && exec "$0" --import tsx --input-type=module -e "$1"`, process.execPath, script],
      { cwd: root, encoding: 'utf8', timeout: 60_000 });
    assert.is(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout.trim().split('\n').pop()!) as { reason: string; shard: number; mechs: string[] };
    assert.match(out.reason, /^libsasl2 unavailable: /);
    assert.is(typeof out.shard, 'number');
    assert.equal(out.mechs, ['csync:PLAIN', 'imap:PLAIN']);
  } finally {
    await lab.destroy();
  }
});

test.run();
