import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { inspect } from 'node:util';
import { buildConfig, ConfigError, loadConfig, syncChannel, type CyrusConfig } from '../../src/cyrus/config.js';
import { RawConfig, parseConfText, readImapdConf } from '../../src/cyrus/config-file.js';
import { cAtoi, parseCInt, parseDuration, parseSwitch } from '../../src/cyrus/config-values.js';
import { Secret } from '../../src/cyrus/secret.js';
import { skip } from '../support/skip.js';
import { CyrusEnv, cyrusUnavailable } from './support/cyrus-env.js';

function parse(text: string, files: Record<string, string> = {}): RawConfig {
  return readImapdConf('/main.conf', { readFile: (f) => (f === '/main.conf' ? text : (files[f] ?? ((): never => { throw new ConfigError(`no ${f}`); })())) });
}

function conf(text: string, ident: string | null = 'sync_client'): CyrusConfig {
  return buildConfig(parse(text), '/main.conf', { ident, hostname: 'host.example' });
}

test('syntax: comments, case folding, trimming, continuation', () => {
  const raw = parse(
    [
      '# comment',
      '   # indented comment',
      '',
      'ConfigDirectory:   /var/lib/cyrus   ',
      'partition-default:/var/spool/cyrus/mail',
      'admins: a \\',
      'b',
      'tabbed:\tx y # not a comment\t',
      'crlf: value\r',
    ].join('\n') + '\n',
  );
  assert.is(raw.get('configdirectory'), '/var/lib/cyrus');
  assert.is(raw.get('partition-default'), '/var/spool/cyrus/mail');
  assert.is(raw.get('admins'), 'a b');
  assert.is(raw.get('tabbed'), 'x y # not a comment');
  assert.is(raw.get('crlf'), 'value');
  assert.is(raw.size, 5);
});

test('syntax errors are fatal like Cyrus', () => {
  assert.throws(() => parse('no colon here\n'), /invalid option name on line 1/);
  assert.throws(() => parse('bad key!: x\n'), /invalid option name/);
  assert.throws(() => parse('key:   \n'), /empty option value on line 1/);
  assert.throws(() => parse('a: 1\nA: 2\n'), /specified twice/);
  assert.throws(() => parse('@frobnicate: x\n'), /invalid directive/);
});

test('@include reads the file, once', () => {
  const raw = parse('a: 1\n@include: /inc.conf\nc: 3\n', { '/inc.conf': 'b: 2\n' });
  assert.equal([...raw.keys()], ['a', 'b', 'c']);
  assert.throws(() => parse('@include: /inc.conf\n@include: /inc.conf\n', { '/inc.conf': 'b: 2\n' }), /included twice/);
  assert.throws(() => parse('@include: /self.conf\n', { '/self.conf': 'x: 1\n@include: /self.conf\n' }), /included twice/);
});

test('a continuation left open at end of file is dropped (fgets)', () => {
  const raw = new RawConfig();
  parseConfText('a: 1\nb: 2\\\n', 'f', raw, () => {});
  assert.equal([...raw.keys()], ['a']);
});

test('switch, integer and duration syntaxes', () => {
  for (const t of ['1', 'yes', 'y', 'on', 'true', 't', 'yesss']) assert.is(parseSwitch(t), true, t);
  for (const t of ['0', 'no', 'off', 'false', 'f', 'n']) assert.is(parseSwitch(t), false, t);
  for (const t of ['Yes', 'ON', 'o', 'x', '']) assert.is(parseSwitch(t), null, t);
  assert.is(parseCInt('8192'), 8192);
  assert.is(parseCInt('0x10'), 16);
  assert.is(parseCInt('010'), 8);
  assert.is(parseCInt('-5'), -5);
  assert.is(parseCInt('08'), null);
  assert.is(parseCInt('12abc'), null);
  assert.is(parseDuration('20s'), 20);
  assert.is(parseDuration('1m'), 60);
  assert.is(parseDuration('1h30m'), 5400);
  assert.is(parseDuration('2d'), 172800);
  assert.is(parseDuration('90'), 90);
  assert.is(parseDuration('5', 'm'), 300);
  assert.is(parseDuration('1m30', 's'), 90);
  assert.is(parseDuration('-1s'), -1);
  assert.is(parseDuration('m'), null);
  assert.is(parseDuration('10x'), null);
  assert.is(cAtoi('yes'), 0);
  assert.is(cAtoi(' 12abc'), 12);
  assert.is(cAtoi('-1'), -1);
});

test('defaults match Cyrus 3.6.1 imapoptions', () => {
  const c = conf('configdirectory: /var/lib/cyrus\npartition-default: /srv/mail\n');
  assert.is(c.configDirectory, '/var/lib/cyrus');
  assert.equal([...c.partitions], [['default', '/srv/mail']]);
  assert.is(c.hashImapSpool, false);
  assert.is(c.fullDirHash, false);
  assert.is(c.virtDomains, 'off');
  assert.is(c.defaultDomain, 'internal');
  assert.is(c.unixHierarchySep, true);
  assert.is(c.altNamespace, true);
  assert.is(c.deletedPrefix, 'DELETED');
  assert.is(c.deleteMode, 'delayed');
  assert.is(c.expungeMode, 'delayed');
  assert.is(c.sieveDir, '/usr/sieve');
  assert.is(c.sieveFolder, '#sieve');
  assert.is(c.lockDirectory, '/var/lib/cyrus/lock');
  assert.is(c.servername, 'host.example');
  assert.is(c.conversations, false);
  assert.is(c.reverseAcls, false);
  assert.equal(c.db.mboxlist, { backend: 'twoskip', path: '/var/lib/cyrus/mailboxes.db' });
  assert.equal(c.db.annotation, { backend: 'twoskip', path: '/var/lib/cyrus/annotations.db' });
  assert.equal(c.db.quota, { backend: 'quotalegacy', path: '/var/lib/cyrus/quotas.db' });
  assert.is(c.db.seenstate.backend, 'twoskip');
  assert.is(c.db.subscription.backend, 'flat');
  assert.is(c.db.conversations.backend, 'skiplist');
  assert.is(c.syncLog, false);
  assert.equal(c.syncLogChannels, [null]);
  assert.is(c.syncTimeout, 1800);
  assert.is(c.syncReconnectMaxwait, 1200);
  assert.is(c.syncBatchsize, 8192);
  assert.is(c.clientTimeout, 10);
  const s = syncChannel(c, null);
  assert.is(s.host, null);
  assert.is(s.tryImap, true);
  assert.is(s.repeatInterval, 1);
  assert.is(s.logFile, '/var/lib/cyrus/sync/log');
});

test('typed options, {configdirectory} expansion and overflow keys', () => {
  const c = conf(
    [
      'configdirectory: /c',
      'partition-default: /p1',
      'partition-Other: /p2',
      'metapartition-default: /meta',
      'metapartition_files: header index',
      'archivepartition-default: /arch',
      'archive_enabled: yes',
      'hashimapspool: true',
      'fulldirhash: 1',
      'virtdomains: yes',
      'defaultdomain: example.com',
      'mboxname_lockpath: {configdirectory}/locks',
      'sievedir: {CONFIGDIRECTORY}/sieve',
      'mboxlist_db: skiplist',
      'mboxlist_db_path: /db/mb.db',
      'sync_log_channels: replica "" audit',
      'sync_timeout: 45',
      'sync_batchsize: 0x100',
      'servername: mail.example.com',
      'delete_mode: immediate',
    ].join('\n'),
  );
  assert.equal([...c.partitions].sort(), [['default', '/p1'], ['other', '/p2']]);
  assert.is(c.metaPartitions.get('default'), '/meta');
  assert.equal([...c.metapartitionFiles], ['header', 'index']);
  assert.is(c.archivePartitions.get('default'), '/arch');
  assert.is(c.archiveEnabled, true);
  assert.is(c.hashImapSpool, true);
  assert.is(c.fullDirHash, true);
  assert.is(c.virtDomains, 'on');
  assert.is(c.defaultDomain, 'example.com');
  assert.is(c.lockDirectory, '/c/locks');
  assert.is(c.sieveDir, '/c/sieve');
  assert.equal(c.db.mboxlist, { backend: 'skiplist', path: '/db/mb.db' });
  assert.equal(c.syncLogChannels, ['replica', null, 'audit']);
  assert.is(c.syncTimeout, 45);
  assert.is(c.syncBatchsize, 256);
  assert.is(c.servername, 'mail.example.com');
  assert.is(c.deleteMode, 'immediate');
});

test('invalid typed values raise ConfigError', () => {
  assert.throws(() => conf('partition-default: /p\n'), /configdirectory option not specified/);
  assert.throws(() => conf('configdirectory: /c\nhashimapspool: maybe\n'), /non-switch value for hashimapspool/);
  assert.throws(() => conf('configdirectory: /c\nvirtdomains: sometimes\n'), /invalid value 'sometimes' for virtdomains/);
  assert.throws(() => conf('configdirectory: /c\nmboxlist_db: berkeley\n'), /invalid value 'berkeley' for mboxlist_db/);
  assert.throws(() => conf('configdirectory: /c\nsync_timeout: soon\n'), /unparsable duration/);
  assert.throws(() => conf('configdirectory: /c\nsync_batchsize: lots\n'), /non-integer value/);
  assert.throws(() => conf('configdirectory: /c\ndefaultpartition: my-part\n'), /non-alnum/);
  assert.throws(() => conf('configdirectory: /c\nmetapartition_files: header bogus\n'), /invalid value 'bogus'/);
});

test('service-specific <ident>_ keys override generic ones', () => {
  const text = 'configdirectory: /c\nsync_client_sync_host: special\nsync_host: generic\nsync_client_partition-default: /sp\npartition-default: /p\n';
  assert.is(syncChannel(conf(text), null).host, 'special');
  assert.is(conf(text).partitions.get('default'), '/sp');
  assert.is(syncChannel(conf(text, null), null).host, 'generic');
  assert.is(conf(text, 'imap').partitions.get('default'), '/p');
});

test('channel-prefixed sync options fall back to the global ones', () => {
  const c = conf(
    [
      'configdirectory: /c',
      'sync_host: global.example',
      'sync_authname: globaluser',
      'sync_password: globalpw',
      'sync_repeat_interval: 3s',
      'sync_shutdown_file: {configdirectory}/shut',
      'replica_sync_host: replica.example',
      'replica_sync_port: 2005',
      'replica_sync_password: s3cret',
      'replica_sync_try_imap: yes',
      'replica_sync_repeat_interval: 250',
      'replica_sync_shutdown_file: {configdirectory}/rshut',
      'other_sync_try_imap: 0',
      'other_sync_repeat_interval: nonsense',
      'third_sync_try_imap: -1',
    ].join('\n'),
  );
  const r = syncChannel(c, 'replica');
  assert.is(r.host, 'replica.example');
  assert.is(r.port, '2005');
  assert.is(r.authname, 'globaluser');
  assert.is(r.password?.reveal(), 's3cret');
  // Cyrus reads the prefixed switch with atoi(): "yes" is 0.
  assert.is(r.tryImap, false);
  assert.is(r.repeatInterval, 250);
  // Overflow (prefixed) values are not {configdirectory}-expanded; the global one is.
  assert.is(r.shutdownFile, '{configdirectory}/rshut');
  assert.is(r.logFile, '/c/sync/replica/log');
  const o = syncChannel(c, 'other');
  assert.is(o.host, 'global.example');
  assert.is(o.tryImap, false);
  assert.is(o.repeatInterval, 3);
  assert.is(o.shutdownFile, '/c/shut');
  assert.is(syncChannel(c, 'third').tryImap, true);
  assert.is(syncChannel(c, null).password?.reveal(), 'globalpw');
});

test('passwords never print', () => {
  const c = conf('configdirectory: /c\nsync_password: hunter2\nreplica_sync_password: hunter3\nsasl_password: hunter4\n');
  const s = syncChannel(c, 'replica');
  const shown = [String(s.password), `${s.password}`, JSON.stringify(s), inspect(s, { depth: 5 }), inspect(c, { depth: 5 }), JSON.stringify(c.raw), inspect(c.raw)].join('\n');
  for (const pw of ['hunter2', 'hunter3', 'hunter4']) assert.not.ok(shown.includes(pw), pw);
  assert.ok(shown.includes('[redacted]'));
  assert.is(s.password?.reveal(), 'hunter3');
  assert.is(c.raw.get('sync_password'), 'hunter2');
  assert.is(String(new Secret('x')), '[redacted]');
});

test('loadConfig reads files and includes relative to the cwd', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'syncmux-conf-'));
  try {
    fs.writeFileSync(path.join(dir, 'inc.conf'), 'sync_host: h\n');
    fs.writeFileSync(path.join(dir, 'imapd.conf'), `configdirectory: ${dir}\n@include: ${path.join(dir, 'inc.conf')}\n`);
    const c = loadConfig(path.join(dir, 'imapd.conf'), { hostname: 'x' });
    assert.is(syncChannel(c, null).host, 'h');
    assert.throws(() => loadConfig(path.join(dir, 'missing.conf')), /can't open configuration file/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('typed values agree with cyr_info conf-all', () => {
  const why = cyrusUnavailable();
  if (why) return skip('typed values agree with cyr_info conf-all', why);
  const env = CyrusEnv.create({
    hashimapspool: 'yes',
    fulldirhash: 'on',
    virtdomains: 'userid',
    defaultdomain: 'example.org',
    deletedprefix: 'TRASHED',
    sync_timeout: '2m',
    sync_repeat_interval: '90',
    mboxname_lockpath: '{configdirectory}/lk',
    servername: 'oracle.example',
    sync_log_channels: 'a b',
  });
  try {
    const out = env.must('cyr_info', ['conf-all']).toString();
    const info = new Map(out.split('\n').map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 1).trim()]));
    const c = loadConfig(env.conf);
    const yn = (b: boolean): string => (b ? 'yes' : 'no');
    assert.is(yn(c.hashImapSpool), info.get('hashimapspool'));
    assert.is(yn(c.fullDirHash), info.get('fulldirhash'));
    assert.is(c.virtDomains, info.get('virtdomains'));
    assert.is(c.defaultDomain, info.get('defaultdomain'));
    assert.is(c.deletedPrefix, info.get('deletedprefix'));
    assert.is(c.configDirectory, info.get('configdirectory'));
    assert.is(c.lockDirectory, info.get('mboxname_lockpath'));
    assert.is(c.sieveDir, info.get('sievedir'));
    assert.is(c.servername, info.get('servername'));
    assert.is(yn(c.unixHierarchySep), info.get('unixhierarchysep'));
    assert.is(yn(c.altNamespace), info.get('altnamespace'));
    assert.is(c.deleteMode, info.get('delete_mode'));
    assert.is(c.db.mboxlist.backend, info.get('mboxlist_db'));
    assert.is(c.db.seenstate.backend, info.get('seenstate_db'));
    assert.is(c.db.subscription.backend, info.get('subscription_db'));
    assert.is(c.db.quota.backend, info.get('quota_db'));
    assert.is(c.sieveFolder, info.get('sieve_folder'));
    assert.is(String(c.syncBatchsize), info.get('sync_batchsize'));
    assert.is(c.syncTimeout, parseDuration(info.get('sync_timeout') ?? ''));
    assert.is(syncChannel(c, null).repeatInterval, parseDuration(info.get('sync_repeat_interval') ?? ''));
    assert.is(c.syncReconnectMaxwait, parseDuration(info.get('sync_reconnect_maxwait') ?? ''));
    assert.is(c.syncLogChannels.join(' '), info.get('sync_log_channels'));
  } finally {
    env.cleanup();
  }
});

test.run();
