// planBatch (plan.ts): stock's sync_do_reader collection, pruning and order. Pure.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { planBatch } from '../../src/engine/plan.js';
import { parseLine, type SyncLogLine } from '../../src/synclog/index.js';

const lines = (...texts: string[]): SyncLogLine[] =>
  texts.map((t) => {
    const b = Buffer.from(t, 'latin1');
    const r = parseLine(b, 0, b.length);
    if (!r.ok) throw new Error(`bad line ${t}`);
    return r.line;
  });

test('mailboxes are collected per owner in first-seen order, repeats collapsed', () => {
  const plan = planBatch(lines('APPEND user.a.Sent', 'MAILBOX user.a', 'APPEND user.a.Sent', 'MAILBOX user.b', 'DOUBLEMAILBOX user.a.X user.a.Y'));
  assert.equal([...plan.mailboxGroups], [['a', ['user.a.Sent', 'user.a', 'user.a.X', 'user.a.Y']], ['b', ['user.b']]]);
});

test('a cross-user RENAME puts both names in both owners groups', () => {
  const plan = planBatch(lines('RENAME user.a.X user.b.X'));
  assert.equal([...plan.mailboxGroups], [['a', ['user.a.X', 'user.b.X']], ['b', ['user.a.X', 'user.b.X']]]);
});

test('USER supersedes META, SEEN and SUB; UNUSER supersedes those and USER; META supersedes SEEN and SUB', () => {
  const plan = planBatch(lines(
    'SEEN a 0a1b', 'SUB a user.a.Sent', 'META a', 'USER a',
    'SEEN b 0a1b', 'SUB b user.b.Sent', 'META b',
    'SEEN c 0a1b', 'USER c', 'UNUSER c',
    'SEEN d 0a1b', 'UNSUB d user.d.Old',
  ));
  assert.equal(plan.users, ['a']);
  assert.equal(plan.metas, ['b']);
  assert.equal(plan.unusers, ['c']);
  assert.equal(plan.seen, [{ userid: 'd', uniqueid: '0a1b' }]);
  assert.equal(plan.subs, [{ userid: 'd', mailbox: 'user.d.Old' }]);
});

test('quota, annotation and unmailbox lines are kept once each, in order', () => {
  const plan = planBatch(lines('QUOTA user.a', 'ANNOTATION ""', 'UNMAILBOX user.a.Old', 'QUOTA user.a', 'ANNOTATION user.a', 'UNMAILBOX user.a.Old'));
  assert.equal(plan.quotas, ['user.a']);
  assert.equal(plan.annotations, ['', 'user.a']);
  assert.equal(plan.unmailboxes, ['user.a.Old']);
});

test.run();
