import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runCopyback } from '../../src/engine/copyback.js';

/** A stand-in for Cyrus's sync_client that records its argv and exits with `code`. */
function fakeClient(dir: string, code: number): { program: string; argv: () => string[] } {
  const program = path.join(dir, 'sync_client');
  const out = path.join(dir, 'argv');
  fs.writeFileSync(program, `#!/bin/sh\nprintf '%s\\n' "$@" > '${out}'\necho 'last words' >&2\nexit ${code}\n`, { mode: 0o755 });
  return { program, argv: () => fs.readFileSync(out, 'utf8').trim().split('\n') };
}

test('the hand-off runs Cyrus sync_client -u with our config, channel, server and -O', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'syncmux-copyback-'));
  try {
    const ok = fakeClient(dir, 0);
    const r = await runCopyback(ok.program, { configFile: '/etc/imapd.conf', channel: 'replica', serverOverride: 'r1', noCopyback: true, userid: 'tom' });
    assert.is(r.ok, true);
    assert.equal(ok.argv(), ['-C', '/etc/imapd.conf', '-n', 'replica', '-S', 'r1', '-O', '-u', 'tom']);
    await runCopyback(ok.program, { configFile: '/c', channel: null, userid: 'tom' });
    assert.equal(ok.argv(), ['-C', '/c', '-u', 'tom'], 'no -O unless asked');

    const failing = fakeClient(dir, 1);
    const bad = await runCopyback(failing.program, { configFile: '/c', channel: null, userid: 'tom' });
    assert.is(bad.ok, false);
    assert.match(bad.detail, /exited 1: last words/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
