import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { atoi, getopt } from '../../src/cli/getopt.js';
import { parseClientOptions, SYNC_CLIENT_GETOPT, SYNC_CLIENT_LONG_OPTIONS, usageError } from '../../src/cli/client-options.js';
import { connectOnceHonoured, parseBuildinfo } from '../../src/cli/cyrus-release.js';

function opts(argv: string) {
  const r = parseClientOptions(argv.split(' ').filter(Boolean));
  if (!r.ok) throw new Error(r.error);
  return r.options;
}

test('getopt: clusters, attached values, permutation and --', () => {
  const r = getopt(['-vv', 'alice', '-t1800', '-n', 'chan', '--', '-x'], 'vt:n:');
  assert.equal(r, { ok: true, options: [{ flag: 'v' }, { flag: 'v' }, { flag: 't', value: '1800' }, { flag: 'n', value: 'chan' }], operands: ['alice', '-x'] });
  assert.equal(getopt(['-Q'], 'v'), { ok: false, error: "invalid option -- 'Q'" });
  assert.equal(getopt(['-n'], 'n:'), { ok: false, error: "option requires an argument -- 'n'" });
});

test('getopt_long: --name, --name=value, --name value, unambiguous prefixes', () => {
  const long = { timeout: 't', verbose: 'v', 'verbose-logging': 'l', channel: 'n' };
  assert.equal(getopt(['--timeout=30', '--channel', 'c', '--verbose', 'x', '--chan=d'], 'vlt:n:', long), {
    ok: true, options: [{ flag: 't', value: '30' }, { flag: 'n', value: 'c' }, { flag: 'v' }, { flag: 'n', value: 'd' }], operands: ['x'],
  });
  assert.equal(getopt(['--verb'], 'vl', long), { ok: false, error: "option '--verb' is ambiguous; possibilities: '--verbose' '--verbose-logging'" });
  assert.equal(getopt(['--nope'], 'v', long), { ok: false, error: "unrecognized option '--nope'" });
  assert.equal(getopt(['--verbose=1'], 'v', long), { ok: false, error: "option '--verbose' doesn't allow an argument" });
  assert.equal(getopt(['--timeout'], 't:', long), { ok: false, error: "option '--timeout' requires an argument" });
});

test("sync_client 3.10's long options and -a parse as their short forms", () => {
  for (const flag of Object.values(SYNC_CLIENT_LONG_OPTIONS)) assert.ok(SYNC_CLIENT_GETOPT.includes(flag), `--… maps to -${flag}, which getopt does not know`);
  const l = opts('--channel backup --connect-once --stage-to-archive --verbose --verbose --server 127.0.0.1 --userids cassandane');
  assert.is(l.mode, 'users');
  assert.is(l.channel, 'backup');
  assert.ok(l.connectOnce);
  assert.ok(l.stageToArchive);
  assert.is(l.verbose, 2);
  assert.is(l.serverOverride, '127.0.0.1');
  assert.ok(opts('-C c -v -v -o -S h -u cassandane -a').stageToArchive);
  assert.is(opts('--rolling-once --foreground-rolling --timeout=30').restartTimeout, 30);
});

test('-o follows the release: 3.6 (no version in cyr_buildinfo) keeps retrying, 3.9 and later connect once', () => {
  assert.equal(parseBuildinfo('{"component": {}}'), { major: 3, minor: 6 });
  assert.equal(parseBuildinfo('{"version": {"CYRUS_VERSION": "3.10.1-Debian-3.10.1-3~bpo12+1"}}'), { major: 3, minor: 10 });
  assert.is(parseBuildinfo('not json'), null);
  assert.not.ok(connectOnceHonoured({ major: 3, minor: 6 }));
  assert.not.ok(connectOnceHonoured({ major: 3, minor: 8 }));
  assert.ok(connectOnceHonoured({ major: 3, minor: 9 }));
  assert.ok(connectOnceHonoured({ major: 3, minor: 12 }));
  assert.ok(connectOnceHonoured(null), 'an unknown release gets the current meaning');
});

test('atoi semantics', () => {
  assert.is(atoi('abc'), 0);
  assert.is(atoi(' 42x'), 42);
  assert.is(atoi('-7'), -7);
});

test("Cassandane's argv shapes parse", () => {
  const u = opts('-C /x/imapd.conf -v -v -o -S 127.0.0.1 -u cassandane');
  assert.is(u.mode, 'users');
  assert.is(u.verbose, 2);
  assert.ok(u.connectOnce);
  assert.is(u.serverOverride, '127.0.0.1');
  assert.equal(u.objects, ['cassandane']);
  const r = opts('-C c -v -v -o -S 127.0.0.1 -f /x/conf/sync/log -R');
  assert.is(r.mode, 'rolling');
  assert.not.ok(r.background);
  assert.is(r.inputFile, '/x/conf/sync/log');
  const b = opts('-C c -vv -n backup -m shared.folder');
  assert.is(b.mode, 'mailboxes');
  assert.is(b.channel, 'backup');
  assert.is(b.verbose, 2);
  assert.ok(opts('-C c -r').background);
  assert.not.ok(opts('-C c -r -f x').background, '-r with -f stays in the foreground');
  assert.is(opts('-R -i 3 -n replica').shard, 3);
  assert.is(opts('-A -t abc').restartTimeout, 0);
});

test('usage errors read as stock prints them', () => {
  const both = parseClientOptions(['-u', '-m', 'x']);
  assert.equal(both.ok, false);
  if (!both.ok) assert.is(usageError(both, 'sync_client'), 'Mutually exclusive options defined\n\nUsage: sync_client -S <servername> [-C <alt_config>] [-r] [-v] mailbox...\n');
  const none = parseClientOptions(['-C', 'x']);
  assert.equal(none.ok ? '' : none.error, 'No replication mode specified');
  const bad = parseClientOptions(['-Q']);
  if (!bad.ok) assert.is(usageError(bad, 'sync_client'), "sync_client: invalid option -- 'Q'\nUsage: sync_client -S <servername> [-C <alt_config>] [-r] [-v] mailbox...\n");
  assert.equal(parseClientOptions(['-r', '-R']).ok, false);
});

test.run();
