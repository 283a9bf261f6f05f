/**
 * Archived messages (`archive_enabled`, cyr_expire -A): their files live on
 * the archive partition and their records carry the ARCHIVED flag. Rolling
 * changes to a mailbox with archived records, and a whole-user sync to a
 * replica that lost the user, must read those files from the archive
 * partition, as sync_client does.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import path from 'node:path';
import { CyrusLab } from '../../lab/cyrus-lab.js';
import { compareLab } from '../../lab/compare.js';
import { createUser, deliver, imap } from '../../lab/lab-ops.js';
import { cyrusSkipReason } from '../support/cyrus.js';
import { rootOwnedInMaster, stockWouldSend } from '../support/daemon.js';
import { skip } from '../support/skip.js';
import { engineFor } from './support.js';

const reason = cyrusSkipReason();

const filesUnder = (dir: string): string[] =>
  fs.readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile() && /^\d+\.$/.test(e.name)).map((e) => path.join(e.parentPath ?? e.path, e.name));

test('archived messages replicate from the archive partition, rolling and in a user sync', async () => {
  if (reason) return skip('archived messages', reason);
  const lab = await CyrusLab.start({ archive: true });
  const eut = engineFor(lab);
  try {
    const check = async (what: string) => {
      assert.equal((await compareLab(lab)).differences, [], what);
      assert.equal(stockWouldSend(lab, ['-u', 'alice']).sent, [], `${what}: stock sync_client -u alice still had work`);
    };
    await createUser(lab, 'alice');
    await deliver(lab, 'alice', 3, { size: 5000 });
    assert.equal((await eut.drain()).failed, []);

    lab.tool(lab.master, 'cyr_expire', ['-A', '0']);
    assert.is(filesUnder(lab.archiveDir()).length, 3, 'cyr_expire moved the three messages to the archive partition');

    await deliver(lab, 'alice', 2, { start: 10 });
    await imap(lab.master, 'alice', 'SELECT INBOX', 'UID STORE 1 +FLAGS (\\Flagged)', 'UID STORE 2 +FLAGS (\\Deleted)', 'EXPUNGE');
    const r = await eut.drain();
    assert.equal(r.failed, [], eut.logs.join('\n'));
    await check('rolling changes next to archived records');

    await imap(lab.replica, null, 'SETACL "user/alice" admin lrswipkxtecda', 'DELETE "user/alice"');
    const outcome = await eut.engine.replicate({ key: 'alice', lines: [{ type: 'USER', args: ['alice'] }], retry: false });
    // The replica's delayed delete moved alice's folders to DELETED.* with new modseqs: a copyback may be needed.
    assert.ok(outcome.ok, eut.logs.join('\n'));
    await check('user sync to a replica that lost the user');
    assert.equal(rootOwnedInMaster(lab), [], 'root-owned files in the master');
  } finally {
    await eut.engine.close();
    await lab.destroy();
  }
});

test.run();
