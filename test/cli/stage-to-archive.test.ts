/**
 * `-a` (--stage-to-archive, Cyrus 3.10) against a 3.10.1 replica: syncmux
 * does what stock 3.10.1 does on an identical lab. The master's messages
 * are archived (cyr_expire -A 0); the replica has an archive partition or
 * not (then it offers REPLICATION-ARCHIVE but does not enable it, and
 * stock goes on to the normal partition: its replica_connect ignores
 * sync_connect's IMAP_REMOTE_DENIED). Both clients must exit alike, end
 * master == replica, and leave the same number of message files in the
 * replica's archive partition. (Cassandane 3.10.1's toarchive tests check
 * where each message is staged.)
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CyrusLab } from '../../lab/cyrus-lab.js';
import { compareLab } from '../../lab/compare.js';
import { backportInstall, installMissingReason } from '../../lab/cyrus-installs.js';
import { createUser, deliver } from '../../lab/lab-ops.js';
import { cyrusSkipReason } from '../support/cyrus.js';
import { skip } from '../support/skip.js';
import { runClient } from './support.js';

/** Message files (`<uid>.`) anywhere under dir. */
function messageFiles(dir: string): number {
  if (!fs.existsSync(dir)) return 0;
  return (fs.readdirSync(dir, { recursive: true }) as string[]).filter((f) => /(^|\/)\d+\.$/.test(f)).length;
}

async function run(client: 'stock' | 'syncmux', archive: boolean, imap: boolean) {
  const archiveDir = fs.mkdtempSync(path.join(os.tmpdir(), 'syncmux-replica-archive-'));
  fs.chmodSync(archiveDir, 0o750);
  execFileSync('chown', ['cyrus:mail', archiveDir]);
  const lab = await CyrusLab.start({
    masterCyrus: '3.10', replicaCyrus: '3.10', archive: true, syncTryImap: imap,
    replicaExtra: archive ? ['archive_enabled: yes', `archivepartition-default: ${archiveDir}`] : [],
  });
  try {
    await createUser(lab, 'alice');
    await deliver(lab, 'alice', 3);
    lab.tool(lab.master, 'cyr_expire', ['-A', '0']);
    const args = ['-v', '-o', '-a', '-u', 'alice'];
    const r = client === 'stock' ? lab.stockSyncClient(args, { check: false }) : await runClient(['-C', lab.master.paths.imapdConf, '-n', lab.channel, ...args]);
    return { status: r.status, stderr: r.stderr, differences: (await compareLab(lab, ['alice'])).differences, archived: messageFiles(archiveDir) };
  } finally {
    await lab.destroy();
    fs.rmSync(archiveDir, { recursive: true, force: true });
  }
}

for (const [archive, imap] of [[true, false], [true, true], [false, true]] as const) {
  const title = `-a to a 3.10.1 replica (${imap ? 'IMAP' : 'csync'}) ${archive ? 'with' : 'without'} an archive partition: syncmux does what stock does`;
  test(title, async () => {
    const reason = cyrusSkipReason({ master: '3.10', replica: '3.10' }) ?? installMissingReason(backportInstall());
    if (reason) return skip(title, reason);
    const stock = await run('stock', archive, imap);
    const ours = await run('syncmux', archive, imap);
    assert.is(stock.status, 0, stock.stderr);
    assert.is(ours.status, 0, ours.stderr);
    assert.equal(stock.differences, []);
    assert.equal(ours.differences, []);
    assert.is(ours.archived, stock.archived, 'message files in the replica archive partition');
  });
}

test.run();
