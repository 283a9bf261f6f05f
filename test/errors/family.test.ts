/**
 * Every error class a layer exports belongs to the one family: a
 * SyncmuxError whose instances carry a stable code, and no two classes
 * share a code unless one extends the other's meaning (a format's subclass).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { SyncmuxError, hasCode } from '../../src/errors.js';
import * as cyrus from '../../src/cyrus/index.js';
import * as dlist from '../../src/dlist/index.js';
import * as engine from '../../src/engine/index.js';
import * as protocol from '../../src/protocol/index.js';
import * as shard from '../../src/shard/index.js';
import * as synclog from '../../src/synclog/index.js';
import * as verify from '../../src/verify/index.js';

const layers = { cyrus, dlist, engine, protocol, shard, synclog, verify };

function errorClasses(): Array<[string, Function]> {
  const found: Array<[string, Function]> = [];
  for (const [layer, exports] of Object.entries(layers)) {
    for (const [name, value] of Object.entries(exports)) {
      if (typeof value === 'function' && value.prototype instanceof Error) found.push([`${layer}.${name}`, value]);
    }
  }
  return found;
}

test('every exported error class is a SyncmuxError', () => {
  const classes = errorClasses();
  assert.ok(classes.length >= 15, `only ${classes.length} error classes found`);
  for (const [name, cls] of classes) assert.ok(cls.prototype instanceof SyncmuxError, `${name} is not a SyncmuxError`);
});

test('instances carry their class name and a stable code', () => {
  const samples: SyncmuxError[] = [
    new cyrus.IndexFormatError('cyrus.index: short', '/spool/cyrus.index'),
    new cyrus.DbBusyError('dirty'),
    new cyrus.MboxlistError('bad entry'),
    new cyrus.LockError('timed out waiting for lock', '/conf/lock/x.lock', 'ETIMEDOUT'),
    new protocol.SyncProtocolError('IMAP_AGAIN', 'connection lost', 'closed'),
    new dlist.DlistError('SYNTAX', 'unexpected byte', 3),
    new shard.JournalCorruptError('bad record'),
    new synclog.ShardCountError('4 != 2'),
  ];
  const expected = ['SYNCMUX_CYRUS_INDEX', 'SYNCMUX_CYRUS_DB_BUSY', 'SYNCMUX_CYRUS_MBOXLIST', 'SYNCMUX_LOCK', 'IMAP_AGAIN', 'SYNTAX', 'SYNCMUX_JOURNAL_CORRUPT', 'SYNCMUX_SHARD_COUNT'];
  samples.forEach((err, i) => {
    assert.is(err.code, expected[i]);
    assert.is(err.name, err.constructor.name);
    assert.ok(hasCode(err, expected[i]!));
  });
  assert.instance(samples[1], cyrus.CyrusFileError); // a busy db is still a file of the store
  assert.is((samples[3] as InstanceType<typeof cyrus.LockError>).errno, 'ETIMEDOUT');
  assert.not.ok(hasCode(new Error('plain'), 'SYNCMUX_LOCK'));
});

test.run();
