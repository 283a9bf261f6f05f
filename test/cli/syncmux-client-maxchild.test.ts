/**
 * More replica connections than the replica's syncserver maxchild: the
 * kernel accepts the surplus but no sync_server ever greets it. The users
 * those connections serve must go over the ones that work instead of
 * waiting for a handshake that never comes.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import { CyrusLab } from '../../lab/cyrus-lab.js';
import { compareLab } from '../../lab/compare.js';
import { createUser, deliver, drained } from '../../lab/lab-ops.js';
import { skip } from '../support/skip.js';
import { cyrusSkipReason } from '../support/cyrus.js';
import { startClient } from './support.js';

const reason = cyrusSkipReason();
let lab: CyrusLab | null = null;
const users = ['max1', 'max2', 'max3', 'max4', 'max5', 'max6'];

test.before(async () => {
  if (reason) return;
  lab = await CyrusLab.start({ syncMaxChild: 1 });
  for (const u of users) await createUser(lab, u);
  for (const u of users) await deliver(lab, u, 2);
  // 3 connections against one sync_server; a 2 s handshake timeout keeps the test short.
  fs.appendFileSync(lab.master.paths.imapdConf, `${lab.channel}_syncmux_client_connections: 3\nclient_timeout: 2\n`);
});
test.after(async () => {
  await lab?.destroy();
});

test('users of a connection the replica never serves go over the one it does', async () => {
  if (reason || !lab) return skip('maxchild', reason ?? 'no lab');
  const run = startClient(['-C', lab.master.paths.imapdConf, '-n', lab.channel, '-v', '-R', '-1']);
  // Without the hand-over the pass never ends: the surplus connections retry forever.
  const guard = setTimeout(() => run.child.kill('SIGKILL'), 90_000);
  const r = await run.done;
  clearTimeout(guard);
  assert.is(r.signal, null, `the pass did not finish:\n${r.stderr}`);
  assert.is(r.status, 0, r.stderr);
  assert.ok(drained(lab));
  assert.equal((await compareLab(lab, users)).differences, []);
  assert.not.match(r.stderr, /Can not connect/, 'a refused surplus connection is not a replica outage');
});

test.run();
