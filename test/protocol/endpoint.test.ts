// resolveEndpoint's reading of imapd.conf for the settings syncmux adds.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { loadConfig } from '../../src/cyrus/config.js';
import { EndpointError, resolveEndpoint } from '../../src/protocol/endpoint.js';

function endpointFor(lines: string[], channel: string | null = null) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'syncmux-endpoint-'));
  try {
    const file = path.join(dir, 'imapd.conf');
    fs.writeFileSync(file, ['configdirectory: ' + dir, 'partition-default: ' + dir, 'sync_host: replica.example', ...lines, ''].join('\n'));
    return resolveEndpoint(loadConfig(file), channel);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

test('compression level: zlib default unless set, channel-prefixable', () => {
  assert.is(endpointFor([]).compressLevel, zlib.constants.Z_DEFAULT_COMPRESSION);
  assert.is(endpointFor(['syncmux_compress_level: 1']).compressLevel, 1);
  assert.is(endpointFor(['syncmux_compress_level: 1', 'east_syncmux_compress_level: 9'], 'east').compressLevel, 9);
  assert.ok(endpointFor([]).compress, 'COMPRESS is still taken when offered, as stock');
});

test('SASL settings as stock reads them: sync_realm, <shorthost>_mechs over force_sasl_client_mech', () => {
  assert.is(endpointFor([]).forceMechs, null);
  assert.is(endpointFor([]).realm, null);
  assert.is(endpointFor(['force_sasl_client_mech: GSSAPI']).forceMechs, 'GSSAPI');
  // shorthost of replica.example is "replica"
  assert.is(endpointFor(['force_sasl_client_mech: GSSAPI', 'replica_mechs: SCRAM-SHA-256 PLAIN']).forceMechs, 'SCRAM-SHA-256 PLAIN');
  assert.is(endpointFor(['sync_realm: EXAMPLE.COM', 'east_sync_realm: EAST.EXAMPLE'], 'east').realm, 'EAST.EXAMPLE');
});

test('compression level out of range is a configuration error (EX_CONFIG)', () => {
  for (const bad of ['10', '-1', 'fast', '1.5']) {
    try {
      endpointFor([`syncmux_compress_level: ${bad}`]);
      assert.unreachable(`accepted ${bad}`);
    } catch (err) {
      assert.instance(err, EndpointError);
      assert.is((err as EndpointError).kind, 'config');
      assert.match((err as Error).message, 'syncmux_compress_level');
    }
  }
});

test.run();
