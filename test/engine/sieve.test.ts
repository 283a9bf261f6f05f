/**
 * Sieve scripts replicate as the user's `#sieve` mailbox (SIEVE-MAILBOX,
 * enabled with APPLY CAPABILITIES). compareLab cannot see that mailbox (IMAP
 * refuses its type), so the oracle is what the replica's sync_server makes
 * of it: on APPLY MAILBOX of a sieve mailbox it compiles each script into
 * the user's sieve directory and points `defaultbc` at the active one. Equal
 * sieve trees (bytecode bytes and the link) mean equal scripts and the same
 * active script; stock sync_client -u finding nothing to send is the second,
 * independent check of the mailbox itself.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { loadConfig } from '../../src/cyrus/config.js';
import { Mboxlist } from '../../src/cyrus/mboxlist.js';
import { userSieveDir } from '../../src/cyrus/paths.js';
import { ADMIN, CyrusLab } from '../../lab/cyrus-lab.js';
import { compareLab } from '../../lab/compare.js';
import { createUser } from '../../lab/lab-ops.js';
import { ManageSieve } from '../cyrus/support/managesieve.js';
import { cyrusSkipReason } from '../support/cyrus.js';
import { rootOwnedInMaster, stockWouldSend } from '../support/daemon.js';
import { skip } from '../support/skip.js';
import { engineFor } from './support.js';

const reason = cyrusSkipReason();

/** Relative path → link target or SHA-1 of the bytes, for every file under dir. */
function tree(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (rel: string): void => {
    const full = path.join(dir, rel);
    const st = fs.lstatSync(full);
    if (st.isDirectory()) for (const n of fs.readdirSync(full).sort()) walk(path.join(rel, n));
    else if (st.isSymbolicLink()) out[rel] = `-> ${fs.readlinkSync(full)}`;
    else out[rel] = crypto.createHash('sha1').update(fs.readFileSync(full)).digest('hex');
  };
  walk('.');
  return out;
}

/** The tree as compared across the lab: bytecode is the compiling Cyrus's, so between two builds only names and links must match. */
function comparable(lab: CyrusLab, t: Record<string, string>): Record<string, string> {
  if (lab.master.cyrus.release === lab.replica.cyrus.release) return t;
  return Object.fromEntries(Object.entries(t).map(([f, v]) => [f, f.endsWith('.bc') ? 'bytecode' : v]));
}

async function sieve(lab: CyrusLab, fn: (s: ManageSieve) => Promise<void>): Promise<void> {
  const s = await ManageSieve.login(lab.master.ports.sieve!, ADMIN.user, ADMIN.password, 'alice');
  try {
    await fn(s);
  } finally {
    await s.logout();
  }
}

test('#sieve replicates: scripts, replacements, the active script, deletion, deactivation', async () => {
  if (reason) return skip('#sieve replicates', reason);
  const lab = await CyrusLab.start({ sieve: true });
  const eut = engineFor(lab);
  try {
    const step = async (what: string, expectActive: string | null) => {
      const r = await eut.drain();
      assert.equal(r.failed, [], `${what}: ${eut.logs.join('\n')}`);
      const master = tree(lab.master.paths.sieveDir);
      assert.ok(Object.keys(master).some((f) => f.endsWith('.bc')), `${what}: the master has compiled scripts`);
      assert.is(Object.entries(master).find(([f]) => f.endsWith('/defaultbc'))?.[1] ?? null, expectActive && `-> ${expectActive}.bc`, what);
      assert.equal(comparable(lab, tree(lab.replica.paths.sieveDir)), comparable(lab, master), `${what}: replica sieve dir`);
      const stock = stockWouldSend(lab, ['-u', 'alice']);
      assert.is(stock.status, 0, stock.stderr);
      assert.equal(stock.sent, [], `${what}: stock sync_client -u alice still had work`);
    };

    await createUser(lab, 'alice');
    await sieve(lab, async (s) => {
      await s.putScript('main', 'require ["fileinto"];\r\nif header :contains "subject" "report" { fileinto "Sent"; }\r\n');
      await s.putScript('vacation', 'keep;\r\n');
      await s.setActive('main');
    });
    await step('upload and activate', 'main');

    await sieve(lab, async (s) => {
      await s.putScript('main', 'require ["fileinto"];\r\nif header :contains "subject" "reports" { fileinto "Trash"; }\r\n');
    });
    await step('replace the active script', 'main');

    await sieve(lab, async (s) => {
      await s.setActive('vacation');
      await s.command('DELETESCRIPT "main"');
    });
    await step('switch the active script, delete the old one', 'vacation');

    await sieve(lab, (s) => s.setActive('').then(() => undefined));
    await step('deactivate', null);

    assert.equal((await compareLab(lab)).differences, []);
    assert.equal(rootOwnedInMaster(lab), [], 'root-owned files in the master');
  } finally {
    await eut.engine.close();
    await lab.destroy();
  }
});

test('a sieve directory not yet migrated to #sieve is handed to Cyrus sync_client -u, as stock migrates it', async () => {
  if (reason) return skip('sieve directory migration', reason);
  const lab = await CyrusLab.start();
  const eut = engineFor(lab);
  try {
    await createUser(lab, 'alice');
    // What an upgraded 2.x/3.0 user has: scripts in the sieve directory, no #sieve mailbox.
    const cfg = loadConfig(lab.master.paths.imapdConf);
    const inbox = (await Mboxlist.query(cfg, (ml) => ml.inbox('alice')))!;
    const dir = userSieveDir(cfg, 'alice', { uniqueid: inbox.uniqueid, legacyDirs: inbox.mbtype.legacyDirs })!;
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'old.script'), 'require ["fileinto"];\r\nif header :contains "subject" "x" { fileinto "INBOX"; }\r\n');
    execFileSync('chown', ['-R', 'cyrus:mail', cfg.sieveDir]);
    lab.tool(lab.master, 'sievec', [path.join(dir, 'old.script'), path.join(dir, 'old.bc')]);
    fs.symlinkSync('old.bc', path.join(dir, 'defaultbc'));
    execFileSync('chown', ['-h', 'cyrus:mail', path.join(dir, 'defaultbc')]);

    const userSync = () => eut.engine.replicate({ key: 'alice', lines: [{ type: 'USER', args: ['alice'] }], retry: false });
    assert.equal(await userSync(), { ok: true, handedOff: true }, eut.logs.join('\n'));
    // The default client, or the lab's wrapper for a master of another Cyrus build (its own sync_client).
    assert.ok(eut.logs.some((l) => /not yet migrated into a #sieve mailbox.*handing alice to \/\S+\/sync_client -u/.test(l)), eut.logs.join('\n'));
    assert.ok(await Mboxlist.query(cfg, (ml) => ml.find('user.alice.#sieve')), 'Cyrus sync_client created the #sieve mailbox on the master');
    const replica = tree(lab.replica.paths.sieveDir);
    assert.ok(Object.entries(replica).some(([f, v]) => f.endsWith('/defaultbc') && v === '-> old.bc'), JSON.stringify(replica));
    assert.equal(stockWouldSend(lab, ['-u', 'alice']).sent, []);

    const handoffs = eut.logs.length;
    assert.equal(await userSync(), { ok: true });
    assert.not.ok(eut.logs.slice(handoffs).some((l) => /handing alice/.test(l)), 'migrated once, synced by syncmux after that');
  } finally {
    await eut.engine.close();
    await lab.destroy();
  }
});

test.run();
