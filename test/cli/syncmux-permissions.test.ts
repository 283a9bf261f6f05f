/**
 * File modes and owners: everything `syncmux run` creates in the channel
 * directory (shard logs, retry journal, quarantine, status, locks, cache)
 * is cyrus's and no wider than Cyrus's own sync log (0600, umask 077); the
 * wait socket is 0660 and the directory gains group search only (0710), so
 * cyrus and the mail group may `syncmux wait` and nobody else. Started as
 * root, both CLIs refuse to go on when they cannot become cyrus.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { CyrusLab } from '../../lab/cyrus-lab.js';
import { createUser, deliver } from '../../lab/lab-ops.js';
import { lookupSystemUser } from '../../src/cyrus/system-user.js';
import { cyrusSkipReason } from '../support/cyrus.js';
import { SYNCMUX, startDaemon, stopDaemon, waitChannelDrained, waitFor, type Daemon } from '../support/daemon.js';
import { skip } from '../support/skip.js';
import { CLIENT } from './support.js';

const reason = cyrusSkipReason();

function run(script: string, args: string[], opts: { uid?: number; gid?: number; env?: NodeJS.ProcessEnv } = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', script, ...args], { stdio: ['ignore', 'pipe', 'pipe'], uid: opts.uid, gid: opts.gid, env: opts.env ?? process.env });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  return new Promise((resolve) => child.on('exit', (code) => resolve({ code, stdout, stderr })));
}

/** Every entry of the channel directory whose owner or mode is wrong. */
function wrongModes(dir: string, cyrusUid: number): string[] {
  const wrong: string[] = [];
  const dirStat = fs.statSync(dir);
  if (dirStat.uid !== cyrusUid || (dirStat.mode & 0o7777 & ~0o710) !== 0) wrong.push(`${dir}: uid ${dirStat.uid} mode ${(dirStat.mode & 0o7777).toString(8)}`);
  for (const name of fs.readdirSync(dir)) {
    const st = fs.lstatSync(path.join(dir, name));
    const allowed = name === 'syncmux.sock' ? 0o660 : 0o600;
    if (st.uid !== cyrusUid || (st.mode & 0o7777 & ~allowed) !== 0) wrong.push(`${name}: uid ${st.uid} mode ${(st.mode & 0o7777).toString(8)}`);
  }
  return wrong;
}

test('files of syncmux run are cyrus-owned 0600, the socket 0660, the directory 0710', async () => {
  if (reason) return skip('permissions', reason);
  const cyrus = lookupSystemUser('cyrus')!;
  const lab = await CyrusLab.start();
  let daemon: Daemon | null = null;
  try {
    await createUser(lab, 'perm1');
    await deliver(lab, 'perm1', 1);
    daemon = startDaemon(lab, 2);
    const dir = lab.syncLogDir();
    await waitChannelDrained(lab);
    // A line the splitter quarantines, and a user the replica refuses (its mailbox unreadable
    // there), whose lines go to the retry journal.
    // Written as Cyrus's writer does (lock, then check the path still names the file), or the
    // splitter could take the new, still empty log between the open and the write.
    const writer = [
      'import fcntl, os, sys',
      'while True:',
      '    fd = os.open(sys.argv[1], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)',
      '    fcntl.lockf(fd, fcntl.LOCK_EX)',
      '    try:',
      '        same = os.fstat(fd).st_ino == os.stat(sys.argv[1]).st_ino',
      '    except FileNotFoundError:',
      '        same = False',
      '    if same:',
      '        os.write(fd, b"NOT A SYNC LOG LINE\\n")',
      '        break',
      '    os.close(fd)',
    ].join('\n');
    execFileSync('python3', ['-c', writer, path.join(dir, 'log')], { uid: cyrus.uid, gid: cyrus.gid });
    const replicaInbox = lab.tool(lab.replica, 'mbpath', ['user/perm1']).stdout.trim();
    const inboxMode = fs.statSync(replicaInbox).mode & 0o7777;
    fs.chmodSync(replicaInbox, 0);
    await deliver(lab, 'perm1', 1, { start: 1 });
    await waitFor('a retry journal and the quarantine', () => {
      const names = fs.readdirSync(dir);
      return names.some((n) => /^retry\.\d+$/.test(n) && fs.statSync(path.join(dir, n)).size > 0) && names.includes('quarantine');
    }, 30_000).catch((e: Error) => assert.unreachable(`${e.message}: ${fs.readdirSync(dir).join(' ')}\n${daemon!.output().slice(-3000)}`));
    const names = fs.readdirSync(dir);
    for (const expected of ['syncmux.sock', 'quarantine', 'shards', 'splitter.lock']) assert.ok(names.includes(expected), `${expected} in ${names.join(' ')}`);
    assert.equal(wrongModes(dir, cyrus.uid), [], `while a user fails: ${names.join(' ')}`);

    fs.chmodSync(replicaInbox, inboxMode);
    await waitChannelDrained(lab);
    assert.is(await stopDaemon(daemon), 75, daemon.output());
    daemon = null;
    assert.ok(fs.existsSync(path.join(dir, 'syncmux.status')));
    assert.equal(wrongModes(dir, cyrus.uid), [], `after the run: ${fs.readdirSync(dir).join(' ')}`);
  } finally {
    if (daemon) await stopDaemon(daemon);
    await lab.destroy();
  }
});

test('syncmux wait: the mail group may ask, others may not', async () => {
  if (reason) return skip('permissions', reason);
  const cyrus = lookupSystemUser('cyrus')!;
  const lab = await CyrusLab.start();
  let daemon: Daemon | null = null;
  try {
    await createUser(lab, 'perm3');
    daemon = startDaemon(lab, 1);
    await waitFor('the socket', () => fs.existsSync(path.join(lab.syncLogDir(), 'syncmux.sock')), 30_000);
    await deliver(lab, 'perm3', 1);
    const args = ['wait', '-C', lab.master.paths.imapdConf, '-n', lab.channel, '--user', 'perm3', '--timeout', '20000'];
    // Run as nobody: in cyrus's group (mail), then in nobody's own group.
    const inGroup = await run(SYNCMUX, args, { uid: 65534, gid: cyrus.gid });
    assert.is(inGroup.code, 0, `as nobody:mail: ${inGroup.stdout}${inGroup.stderr}`);
    assert.match(inGroup.stdout, /^ok \d+/);
    const outside = await run(SYNCMUX, args, { uid: 65534, gid: 65534 });
    assert.is.not(outside.code, 0, `as nobody:nogroup: ${outside.stdout}`);
    assert.match(outside.stderr + outside.stdout, /EACCES|denied/i);
  } finally {
    if (daemon) await stopDaemon(daemon);
    await lab.destroy();
  }
});

test('both CLIs refuse to run as root when they cannot become cyrus', async () => {
  if (reason) return skip('permissions', reason);
  if (process.getuid?.() !== 0) return skip('permissions', 'not root');
  const lab = await CyrusLab.start();
  try {
    await createUser(lab, 'perm4');
    const env = { ...process.env, CYRUS_USER: 'nosuchuser' };
    const daemon = await run(SYNCMUX, ['run', '-C', lab.master.paths.imapdConf, '-n', lab.channel, '--shards', '2'], { env });
    assert.is(daemon.code, 64, daemon.stderr);
    assert.equal(daemon.stderr.trim().split('\n'), ['syncmux: must run as the Cyrus user: there is no user "nosuchuser"; refusing to run as root']);
    const client = await run(CLIENT, ['-C', lab.master.paths.imapdConf, '-n', lab.channel, '-u', 'perm4'], { env });
    assert.is(client.code, 64, client.stderr);
    assert.equal(client.stderr.trim().split('\n'), ['Fatal error: must run as the Cyrus user: there is no user "nosuchuser"; refusing to run as root']);
    // Nothing of ours appeared in Cyrus's directory, root-owned or not.
    const names = fs.readdirSync(lab.syncLogDir());
    assert.equal(names.filter((n) => n !== 'log'), [], names.join(' '));
  } finally {
    await lab.destroy();
  }
});

test.run();
