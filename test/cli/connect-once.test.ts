/**
 * `-o` means what the master's Cyrus release made it mean. Up to 3.8 it
 * was parsed and unused: a client whose replica is down keeps retrying
 * (Cassandane 3.6.1's rolling_retry_wait_limit passes -o and expects the
 * retries). From 3.9 it is --connect-once: exit 1 at once with "Can not
 * connect to server" and no retry (Cassandane 3.10.1's connect_once),
 * which stock 3.10.1 does too. The release comes from cyr_buildinfo beside
 * the copyback sync_client. 3.10's long option works the same.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { CyrusLab } from '../../lab/cyrus-lab.js';
import { backportInstall, installMissingReason } from '../../lab/cyrus-installs.js';
import { createUser } from '../../lab/lab-ops.js';
import { cyrusSkipReason } from '../support/cyrus.js';
import { skip } from '../support/skip.js';
import { runClient, startClient } from './support.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const RETRIES = 'a 3.6.1 master: -o with the replica down keeps retrying, as stock 3.6.1';
test(RETRIES, async () => {
  const reason = cyrusSkipReason({ master: '3.6', replica: '3.6' });
  if (reason) return skip(RETRIES, reason);
  const lab = await CyrusLab.start({ masterCyrus: '3.6', replicaCyrus: '3.6' });
  try {
    await createUser(lab, 'alice');
    await lab.stopInstance(lab.replica);
    const client = startClient(['-C', lab.master.paths.imapdConf, '-n', lab.channel, '-v', '-v', '-o', '-m', 'user.alice']);
    await sleep(3000);
    assert.is(client.child.exitCode, null, 'the client gave up instead of retrying');
    client.child.kill('SIGTERM');
    const r = await client.done;
    assert.is(r.status, 75, r.stderr);
    assert.match(r.stderr, /Can not connect to server '[^']+', retrying in 15 seconds/);
  } finally {
    await lab.destroy();
  }
});

for (const flag of ['-o', '--connect-once']) {
  const ONCE = `a 3.10.1 master: ${flag} with the replica down exits 1 at once, as stock 3.10.1`;
  test(ONCE, async () => {
    const reason = cyrusSkipReason({ master: '3.10', replica: '3.10' }) ?? installMissingReason(backportInstall());
    if (reason) return skip(ONCE, reason);
    const lab = await CyrusLab.start({ masterCyrus: '3.10', replicaCyrus: '3.10' });
    try {
      await createUser(lab, 'alice');
      await lab.stopInstance(lab.replica);
      const stock = lab.stockSyncClient(['-v', '-v', flag, '-m', 'user.alice'], { check: false });
      assert.is(stock.status, 1, stock.stderr);
      const started = Date.now();
      const r = await runClient(['-C', lab.master.paths.imapdConf, '-n', lab.channel, '-v', '-v', flag, '-m', 'user.alice']);
      assert.is(r.status, 1, r.stderr);
      assert.ok(Date.now() - started < 10_000, `took ${Date.now() - started} ms`);
      for (const out of [stock.stderr, r.stderr]) {
        assert.match(out, /Can not connect to server/);
        assert.not.match(out, /retrying in \d+ seconds/);
      }
    } finally {
      await lab.destroy();
    }
  });
}

test.run();
