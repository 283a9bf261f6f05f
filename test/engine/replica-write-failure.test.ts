/**
 * A replica that cannot store a message (disk full, I/O error; simulated
 * with Cyrus's debug_writefail_guid) answers the APPLY MESSAGE with an
 * error, and Cyrus 3.6.1 then abort()s on an APPLY MAILBOX that references
 * that message. Stock never sends one, as it waits for each answer; the
 * drop-in's object modes do the same, and the one-flight fast path stops
 * after the first refusal (upload-pipelining.ts), so a refusing replica
 * loses at most one process and nothing is lost on the master.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import crypto from 'node:crypto';
import { CyrusLab } from '../../lab/cyrus-lab.js';
import { compareLab } from '../../lab/compare.js';
import { createUser, withImap } from '../../lab/lab-ops.js';
import { cyrusSkipReason } from '../support/cyrus.js';
import { skip } from '../support/skip.js';
import { engineFor } from './support.js';

const reason = cyrusSkipReason();
const canary = Buffer.from('From: fred@example.org\r\nSubject: the canary\r\n\r\nI have eaten the canary\r\n');
const canaryGuid = crypto.createHash('sha1').update(canary).digest('hex');

test('a message the replica cannot store fails the user cleanly, and the fast path stops pipelining', async () => {
  if (reason) return skip('replica write failure', reason);
  const lab = await CyrusLab.start({ replicaExtra: [`debug_writefail_guid: ${canaryGuid}`] });
  const careful = engineFor(lab, { engine: { confirmUploads: true } });
  const fast = engineFor(lab);
  const userSync = (e: typeof fast) => e.engine.replicate({ key: 'alice', lines: [{ type: 'USER', args: ['alice'] }], retry: false });
  try {
    await createUser(lab, 'alice', []);
    assert.equal(await userSync(careful), { ok: true });
    await withImap(lab.master, 'alice', (c) => c.append('INBOX', canary));

    // The fast path: from the first refusal on, uploads are confirmed before APPLY MAILBOX
    // (a process-wide switch, so this runs before the careful engine refuses anything).
    for (let i = 0; i < 3; i++) assert.is((await userSync(fast)).ok, false);
    assert.ok(fast.logs.some((l) => /(refused an upload|closed the connection with an upload unanswered).*confirming each upload/.test(l)), fast.logs.join('\n'));
    const lost = fast.logs.filter((l) => /connection lost/.test(l)).length;
    assert.ok(lost <= 1, `at most the flight already sent loses its replica process:\n${fast.logs.join('\n')}`);

    // Stock's order: the refusal ends the user's sync, and the connection survives it.
    const first = await userSync(careful);
    assert.is(first.ok, false);
    assert.not.ok(careful.logs.some((l) => /connection lost/.test(l)), careful.logs.join('\n'));
    // In stock's words, at LOG_ERR (sync_parse_response).
    assert.ok(careful.logs.some((l) => /^err: IOERROR: received bad response: command=<MESSAGE> response=<BAD> errmsg=<.+>$/.test(l)), careful.logs.join('\n'));

    // Nothing but the canary is missing on the replica.
    const diff = (await compareLab(lab)).differences;
    assert.ok(diff.length > 0 && diff.every((d) => /INBOX/.test(d)), diff.join('\n'));
  } finally {
    await careful.engine.close();
    await fast.engine.close();
    await lab.destroy();
  }
});

test.run();
