import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { buildConfig } from '../../src/cyrus/config.js';
import { RawConfig } from '../../src/cyrus/config-file.js';
import { MemoryDb } from '../../src/cyrus/cyrusdb/index.js';
import { folderThreadModseq, hasConversations, parseThreadModseq } from '../../src/cyrus/conversations.js';
import { parseMbType } from '../../src/cyrus/mbtype.js';

const cfg = (lines: Record<string, string>) => buildConfig(new RawConfig(Object.entries({ configdirectory: '/c', 'partition-default': '/p', ...lines })), '/x.conf', { hostname: 'h' });
const db = (rows: Array<[string, string]>) => new MemoryDb('skiplist', '', rows.map(([k, v]) => ({ key: Buffer.from(k), value: Buffer.from(v) })));
const email = parseMbType('e');

test('the folder status is a plain list: the first number is the thread modseq', () => {
  assert.is(parseThreadModseq(Buffer.from('0 (5 1 1 1 1)')), 5n);
  assert.is(parseThreadModseq(Buffer.from('0 (18446744073709551615 0 0 0 0)')), 18446744073709551615n);
  // Another version, damage, or no record: Cyrus sends no XCONVMODSEQ.
  assert.is(parseThreadModseq(Buffer.from('1 (5 1 1 1 1)')), 0n);
  assert.is(parseThreadModseq(Buffer.from('0 (5 1')), 0n);
  assert.is(parseThreadModseq(Buffer.from('garbage')), 0n);
  assert.is(parseThreadModseq(undefined), 0n);
});

test('folders are keyed by uniqueid, or by name in a DB with only $FOLDER_NAMES', () => {
  const folder = { uniqueid: 'abc', name: 'user.dave.Sent' };
  assert.is(folderThreadModseq(db([['$FOLDER_IDS', '(abc)'], ['Fabc', '0 (7 1 0 1 0)'], ['Fuser.dave.Sent', '0 (3 0 0 0 0)']]), folder), 7n);
  assert.is(folderThreadModseq(db([['$FOLDER_NAMES', '(user.dave.Sent)'], ['Fabc', '0 (7 1 0 1 0)'], ['Fuser.dave.Sent', '0 (3 0 0 0 0)']]), folder), 3n);
  assert.is(folderThreadModseq(db([['Fabc', '0 (9 0 0 0 0)']]), folder), 9n, 'a new DB keys by id');
  assert.is(folderThreadModseq(db([['$FOLDER_IDS', '()']]), folder), 0n);
});

test('which mailboxes have conversations (mailbox_has_conversations)', () => {
  const on = cfg({ conversations: 'yes' });
  assert.ok(hasConversations(on, 'user.dave.Sent', email));
  assert.ok(hasConversations(on, 'example.com!user.dave', email));
  assert.not.ok(hasConversations(cfg({}), 'user.dave.Sent', email), 'off by default');
  assert.not.ok(hasConversations(on, 'shared.folder', email), 'only users have them');
  assert.not.ok(hasConversations(on, 'DELETED.user.dave.Sent.5F000000', email), 'never for deleted mailboxes');
  assert.not.ok(hasConversations(on, 'user.dave.#jmapsubmission', email), 'never for the submission folder');
  assert.not.ok(hasConversations(on, 'user.dave.Outbox', parseMbType('s')), 'never for a submission mailbox');
  assert.not.ok(hasConversations(cfg({ conversations: 'yes', jmapsubmissionfolder: 'Outbox' }), 'user.dave.Outbox', email));
});

test.run();
