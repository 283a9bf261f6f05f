import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { atoi, getopt } from '../../src/cli/getopt.js';
import { parseClientOptions, usageError } from '../../src/cli/client-options.js';

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
