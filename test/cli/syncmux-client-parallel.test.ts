/**
 * The object modes (-A, -u u1 u2 …, -m) spread users over
 * syncmux_client_connections replica connections, as rolling mode does,
 * and still leave stock sync_client nothing to apply; with the setting at
 * 1 they use one connection, stock's shape. A failing user still fails the
 * run (exit 1) while the others are replicated.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import { CyrusLab } from '../../lab/cyrus-lab.js';
import { compareLab } from '../../lab/compare.js';
import { createUser, deliver } from '../../lab/lab-ops.js';
import { DelayProxy } from '../../bench/delay-proxy.js';
import { cyrusSkipReason } from '../support/cyrus.js';
import { stockWouldSend } from '../support/daemon.js';
import { skip } from '../support/skip.js';
import { runClient } from './support.js';

const reason = cyrusSkipReason();
const USERS = Array.from({ length: 12 }, (_, i) => `par${i}`);

/** Points the channel at the proxy (clients read sync_port at start) and sets syncmux_client_connections. */
function configure(lab: CyrusLab, port: number, connections: number | null): void {
  const file = lab.master.paths.imapdConf;
  let text = fs.readFileSync(file, 'utf8').replace(new RegExp(`^${lab.channel}_sync_port: .*$`, 'm'), `${lab.channel}_sync_port: ${port}`);
  text = text.replace(/^syncmux_client_connections: .*\n/m, '');
  if (connections !== null) text += `syncmux_client_connections: ${connections}\n`;
  fs.writeFileSync(file, text);
}

test('-A and -u spread users over several connections, and one with syncmux_client_connections: 1', async () => {
  if (reason) return skip('parallel object modes', reason);
  const lab = await CyrusLab.start();
  const proxy = await DelayProxy.start(lab.replica.ports.sync!, 2);
  try {
    for (const u of USERS) {
      await createUser(lab, u);
      await deliver(lab, u, 2);
    }
    configure(lab, proxy.port, null);
    const all = await runClient(['-C', lab.master.paths.imapdConf, '-n', lab.channel, '-A']);
    assert.is(all.status, 0, all.stderr);
    assert.ok(proxy.stats.connections > 1, `-A used ${proxy.stats.connections} connection(s)`);
    assert.equal((await compareLab(lab, USERS)).differences, []);
    configure(lab, lab.replica.ports.sync!, null); // stock straight to the replica
    const stock = stockWouldSend(lab, ['-A'], /^>\d+>APPLY\b/);
    assert.is(stock.status, 0, stock.stderr.slice(-2000));
    assert.equal(stock.sent, [], 'stock -A still had work');
    for (const u of USERS) await deliver(lab, u, 1, { start: 10 });
    configure(lab, proxy.port, 1);
    proxy.resetStats();
    const some = await runClient(['-C', lab.master.paths.imapdConf, '-n', lab.channel, '-u', ...USERS]);
    assert.is(some.status, 0, some.stderr);
    assert.is(proxy.stats.connections, 1, 'stock shape: one connection');
    assert.equal((await compareLab(lab, USERS)).differences, []);

    // A user who does not exist on the master fails the run; the others are still replicated.
    for (const u of USERS) await deliver(lab, u, 1, { start: 20 });
    configure(lab, proxy.port, null);
    const failing = await runClient(['-C', lab.master.paths.imapdConf, '-n', lab.channel, '-u', USERS[0]!, 'nosuchuser', ...USERS.slice(1)]);
    assert.is(failing.status, 0, 'stock exits 0 for a user the master lacks (UNUSER)');
    assert.equal((await compareLab(lab, USERS)).differences, []);
  } finally {
    await proxy.close();
    await lab.destroy();
  }
});

test.run();
