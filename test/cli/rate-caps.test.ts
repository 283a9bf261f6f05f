/**
 * syncmux_max_messages_per_second caps what the uploads of a whole process
 * send: the drop-in's connections together, and the daemon's shards
 * together (one cap shared by every worker thread). 80 messages at 10 per
 * second, with one second's worth let through at once, take at least 7 s;
 * uncapped they take a fraction of that. Both end master == replica.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { CyrusLab } from '../../lab/cyrus-lab.js';
import { compareLab } from '../../lab/compare.js';
import { createUser, deliver } from '../../lab/lab-ops.js';
import { cyrusSkipReason } from '../support/cyrus.js';
import { SYNCMUX } from '../support/daemon.js';
import { skip } from '../support/skip.js';
import { CLIENT } from './support.js';

const USERS = Array.from({ length: 8 }, (_, i) => `cap${i}`);

async function cappedLab(): Promise<CyrusLab> {
  const lab = await CyrusLab.start({ masterExtra: ['syncmux_max_messages_per_second: 10'] });
  for (const u of USERS) await createUser(lab, u);
  lab.stockSyncClient(['-A']);
  fs.rmSync(`${lab.syncLogDir()}/log`, { force: true });
  for (const u of USERS) await deliver(lab, u, 10);
  return lab;
}

for (const [name, argv] of [
  ['syncmux-client -R -1', (conf: string, ch: string) => ['--import', 'tsx', CLIENT, '-C', conf, '-n', ch, '-R', '-1']],
  ['syncmux run --once --shards 4', (conf: string, ch: string) => ['--import', 'tsx', SYNCMUX, 'run', '--once', '--shards', '4', '-C', conf, '-n', ch]],
] as const) {
  const title = `${name} holds syncmux_max_messages_per_second across its connections`;
  test(title, async () => {
    const reason = cyrusSkipReason();
    if (reason) return skip(title, reason);
    const lab = await cappedLab();
    try {
      const started = performance.now();
      const r = spawnSync(process.execPath, argv(lab.master.paths.imapdConf, lab.channel), { encoding: 'utf8', timeout: 120_000 });
      const seconds = (performance.now() - started) / 1000;
      assert.is(r.status, 0, r.stderr);
      assert.ok(seconds >= 6.5, `80 messages at 10/s went out in ${seconds.toFixed(2)} s`);
      assert.equal((await compareLab(lab, USERS)).differences, []);
    } finally {
      await lab.destroy();
    }
  });
}

test.run();
