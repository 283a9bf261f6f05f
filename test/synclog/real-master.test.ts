import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { CyrusLab } from '../../lab/cyrus-lab.js';
import { appendTo, createUser, deliver, imap } from '../../lab/lab-ops.js';
import { isBarrierLine, parseLine, routeLine } from '../../src/synclog/index.js';
import { skip } from '../support/skip.js';
import { cyrusSkipReason } from '../support/cyrus.js';

const reason = cyrusSkipReason();
const SYNCMUX = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', '..', 'src', 'cli', 'syncmux.ts');

function keyOf(line: string): string {
  const parsed = parseLine(Buffer.from(line, 'latin1'));
  if (!parsed.ok) throw new Error(`unparseable: ${line}`);
  const r = routeLine(parsed.line);
  return r.kind === 'single' ? r.key : r.keys[0];
}

test('splitting a real master log: the shards hold exactly the audit log, each user in order', async () => {
  if (reason) return skip('real master split', reason);
  const lab = await CyrusLab.start({ channels: ['replica', 'audit'] });
  try {
    const users = Array.from({ length: 12 }, (_, i) => `user${i}`);
    for (const u of users) await createUser(lab, u, ['Sent', 'Work']);
    for (const u of users) await deliver(lab, u, 2);
    await appendTo(lab, 'user1', 'Sent', 2, '\\Seen');
    await imap(lab.master, 'user2', 'RENAME Work Projects', 'CREATE "Projects/Sub Folder"', 'SUBSCRIBE Projects', 'UNSUBSCRIBE Sent');
    await imap(lab.master, 'user3', 'SETACL INBOX user4 lrs');
    await imap(lab.master, 'user4', 'SELECT "Other Users/user3"', 'UID STORE 1 +FLAGS (\\Seen)');
    await imap(lab.master, null, 'RENAME "user/user5/Work" "user/user6/From5"');

    const r = spawnSync(process.execPath, ['--import', 'tsx', SYNCMUX, 'split', '-C', lab.master.paths.imapdConf, '-n', 'replica', '--shards', '4', '--once'], { encoding: 'utf8' });
    assert.is(r.status, 0, r.stderr);
    const dir = lab.syncLogDir('replica');
    const cyrusUid = Number(spawnSync('id', ['-u', 'cyrus'], { encoding: 'utf8' }).stdout);
    assert.not.ok(fs.existsSync(path.join(dir, 'log-run')), 'log-run is removed once the shards are durable');
    const audit = fs.readFileSync(path.join(lab.syncLogDir('audit'), 'log'), 'latin1').split('\n').filter(Boolean);
    const shardLines: string[][] = [];
    for (let i = 0; i < 4; i++) {
      const file = path.join(dir, `log.${i}`);
      const lines = fs.existsSync(file) ? fs.readFileSync(file, 'latin1').split('\n').filter(Boolean) : [];
      shardLines.push(lines.filter((l) => !isBarrierLine(Buffer.from(l, 'latin1'))));
      if (lines.length) assert.is(fs.statSync(file).uid, cyrusUid, `${file} belongs to cyrus`);
    }
    assert.equal(shardLines.flat().sort(), [...audit].sort(), 'multiset equality with the audit channel');
    for (const u of users) {
      const inAudit = audit.filter((l) => keyOf(l) === u);
      const inShards = shardLines.map((s) => s.filter((l) => keyOf(l) === u)).filter((s) => s.length);
      assert.is(inShards.length, 1, `${u} lives on one shard`);
      assert.equal(inShards[0], inAudit, `${u}'s lines keep their order`);
    }
  } finally {
    await lab.destroy();
  }
});

test.run();
