/**
 * The drop-in with SASL from imapd.conf, as an admin would configure it: a
 * replica offering SCRAM-SHA-256, DIGEST-MD5 and PLAIN (PLAIN for the
 * harness's own checks); libsasl2's own choice, `<shorthost>_mechs` forcing
 * DIGEST-MD5 (whose privacy layer then carries COMPRESS and > 1 MB of
 * mail), and a wrong password logged in stock's words and retried, as
 * stock retries it.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import { CyrusLab, SYNC_USER } from '../../lab/cyrus-lab.js';
import { compareLab } from '../../lab/compare.js';
import { createUser, deliver } from '../../lab/lab-ops.js';
import { saslUnavailableReason } from '../../src/native/index.js';
import { skip } from '../support/skip.js';
import { cyrusSkipReason } from '../support/cyrus.js';
import { runClient, startClient } from './support.js';

const reason = cyrusSkipReason() ?? saslUnavailableReason();

test('syncmux-client -u over SCRAM, then DIGEST-MD5 with its layer, then a wrong password', async () => {
  if (reason) return skip('client sasl', reason);
  const lab = await CyrusLab.start({ replicaExtra: ['sasl_mech_list: SCRAM-SHA-256 DIGEST-MD5 PLAIN'] });
  const conf = lab.master.paths.imapdConf;
  const original = fs.readFileSync(conf, 'utf8');
  try {
    await createUser(lab, 'alice');
    await deliver(lab, 'alice', 2);
    let r = await runClient(['-C', conf, '-n', lab.channel, '-v', '-v', '-u', 'alice']);
    assert.is(r.status, 0, r.stderr);
    assert.match(r.stderr, /AUTHENTICATE SCRAM-SHA-256 <redacted>/);
    assert.not.match(r.stderr + r.stdout, new RegExp(SYNC_USER.password));
    assert.equal((await compareLab(lab, ['alice'])).differences, []);

    // shorthost of 127.0.0.1 is "127", as stock cuts it at the first dot.
    fs.writeFileSync(conf, `${original}127_mechs: DIGEST-MD5\n`);
    await deliver(lab, 'alice', 3, { size: 400_000, start: 10 });
    r = await runClient(['-C', conf, '-n', lab.channel, '-v', '-v', '-u', 'alice']);
    assert.is(r.status, 0, r.stderr);
    assert.match(r.stderr, /AUTHENTICATE DIGEST-MD5\r?\n/);
    assert.match(r.stderr, /COMPRESS DEFLATE/);
    assert.equal((await compareLab(lab, ['alice'])).differences, []);

    fs.writeFileSync(conf, original.replace(`${lab.channel}_sync_password: ${SYNC_USER.password}`, `${lab.channel}_sync_password: not-the-password-42`));
    // As stock 3.6.1 does with a wrong password (its -o is parsed but unused): log why, wait and
    // try again until stopped, so that fixing the replica's side needs no restart here.
    const retrying = startClient(['-C', conf, '-n', lab.channel, '-v', '-u', 'alice']);
    let seen = '';
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no retry announced within 60 s:\n${seen}`)), 60_000);
      retrying.child.stderr!.on('data', (c: Buffer) => {
        seen += c.toString();
        if (/Can not connect to server '127\.0\.0\.1', retrying in 15 seconds/.test(seen)) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
    retrying.child.kill('SIGTERM');
    const stopped = await retrying.done;
    assert.is(stopped.status, 75, stopped.stderr);
    assert.match(stopped.stdout, /couldn't authenticate to backend server: authentication failure/);
    assert.not.match(stopped.stderr + stopped.stdout, /not-the-password-42/);
  } finally {
    fs.writeFileSync(conf, original);
    await lab.destroy();
  }
});

test.run();
