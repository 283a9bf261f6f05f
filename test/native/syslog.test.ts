import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { SyslogSink } from '../../lab/syslog-sink.js';
import { skip } from '../support/skip.js';

test('syslog(3) through the addon: ident, pid, facility and priority', async () => {
  const reason = SyslogSink.unavailableReason();
  if (reason) return skip('addon syslog', reason);
  const sink = await SyslogSink.start();
  try {
    const code = `import('./src/native/index.ts').then((n) => { n.openlog('syncmux-test/sync_client', 22 << 3); n.syslog(6 | (22 << 3), 'hello %s from the addon'); })`;
    const r = spawnSync(process.execPath, ['--import', 'tsx', '-e', code], { encoding: 'utf8' });
    assert.is(r.status, 0, r.stderr);
    // LOG_LOCAL6 | LOG_INFO = 182; the message's % is not a format directive.
    const line = await sink.waitFor(/syncmux-test\/sync_client\[\d+\]: hello %s from the addon/);
    assert.match(line, /^<182>/);
  } finally {
    await sink.stop();
  }
});

test.run();
