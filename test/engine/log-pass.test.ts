// The drop-in's unsharded pass: how log-groups.ts cuts one log-run into
// per-user batches, and how log-pass.ts schedules them (with a recording
// stand-in replicator). Pure; the flows against the real replica are in
// flows.test.ts and test/cli/syncmux-client-requeue.test.ts.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { groupFile, groupLines, linesOf, type LineGroup } from '../../src/engine/log-groups.js';
import { replicateGroups } from '../../src/engine/log-pass.js';
import type { Replicator, UserBatch, UserOutcome } from '../../src/engine/replicator.js';
import { planBatch } from '../../src/engine/plan.js';

const text = (...lines: string[]): Buffer => Buffer.from(lines.map((l) => `${l}\n`).join(''), 'latin1');
const shown = (lines: readonly string[]): string[] => [...lines];
const keyOf = (line: string): string => groupLines(text(line), {}).groups[0]!.key;

test('lines are grouped per user in log order; a repeated line is kept once, and counted', () => {
  const { groups, malformed, count } = groupLines(text('APPEND user.a', 'APPEND user.b', 'APPEND user.a', 'SEEN a 0a1b', 'APPEND user.a', 'MAILBOX user.a.Sent'), {});
  assert.equal(groups.map((g) => g.key), ['a', 'b']);
  assert.equal(shown(groups[0]!.lines), ['APPEND user.a', 'SEEN a 0a1b', 'MAILBOX user.a.Sent']);
  assert.equal(shown(groups[1]!.lines), ['APPEND user.b']);
  assert.equal(malformed, []);
  assert.is(count, 6);
});

test('a cross-user line runs after the earlier lines of both users, and lines after it are not merged with those before', () => {
  const { groups } = groupLines(text('APPEND user.a', 'APPEND user.b', 'RENAME user.a.X user.b.X', 'APPEND user.a', 'APPEND user.b'), {});
  assert.equal(groups.map((g) => [g.key, shown(g.lines), g.after]), [
    ['a', ['APPEND user.a'], []],
    ['b', ['APPEND user.b'], []],
    ['a', ['RENAME user.a.X user.b.X'], [0, 1]],
    ['a', ['APPEND user.a'], [2]],
    ['b', ['APPEND user.b'], [2]],
  ]);
});

test('a file is grouped in chunks as it would be whole; 8-bit bytes survive, a last line without LF is not acted on', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'syncmux-log-pass-'));
  try {
    const body = Buffer.concat([text('APPEND user.a', 'MAILBOX "user.a.caf\xe9"', 'RENAME user.a.X user.b.X', 'FROB x', 'APPEND user.a'), Buffer.from('SEEN b 0a1b', 'latin1')]);
    const file = path.join(dir, 'log-run');
    fs.writeFileSync(file, body);
    const fromFile = await groupFile(file, {});
    assert.equal(fromFile, groupLines(body, {}));
    const all = fromFile.groups.flatMap((g: LineGroup) => [...g.lines]);
    assert.ok(all.includes('MAILBOX "user.a.caf\xe9"'));
    assert.equal(linesOf(fromFile.groups[0]!)[1]!.args, ['user.a.caf\xe9']);
    assert.not.ok(all.includes('SEEN b 0a1b'), 'a torn last line is never acted on');
    assert.equal(fromFile.malformed.map((m) => m.line), ['FROB x', 'SEEN b 0a1b']);
    // A file an admin wrote for -f may end without LF: its last line counts.
    const typed = await groupFile(file, {}, { lastLineMayLackLf: true });
    assert.equal(typed, groupLines(body, {}, { lastLineMayLackLf: true }));
    assert.ok(typed.groups.flatMap((g: LineGroup) => [...g.lines]).includes('SEEN b 0a1b'));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('malformed lines are reported with their text, blank lines are not', () => {
  const { groups, malformed, count } = groupLines(text('APPEND user.a', '', 'FROB user.a', 'APPEND'), {});
  assert.equal(shown(groups[0]!.lines), ['APPEND user.a']);
  assert.equal(malformed.map((m) => m.line), ['FROB user.a', 'APPEND']);
  assert.is(count, 1);
});

test('a million APPENDs to a few mailboxes keep one line per mailbox', () => {
  const lines: string[] = [];
  for (let i = 0; i < 1_000_000; i++) lines.push(`APPEND user.u${i % 100}\n`);
  const { groups, count } = groupLines(Buffer.from(lines.join('')), {});
  assert.is(count, 1_000_000);
  assert.is(groups.length, 100);
  assert.ok(groups.every((g) => g.lines.length === 1));
});

// Keeping a repeated line once must not change what the batch does: its plan
// collapses repeats in first-seen order, as stock's sync_action_list does.
// (Cross-user lines, which cut groups, are covered above.)
const USERS = ['a', 'b'];
const lineFor = fc.oneof(
  fc.tuple(fc.constantFrom('APPEND', 'MAILBOX', 'UNMAILBOX', 'QUOTA', 'ANNOTATION'), fc.constantFrom(...USERS), fc.constantFrom('', '.Sent', '.Trash')).map(([t, u, f]) => `${t} user.${u}${f}`),
  fc.tuple(fc.constantFrom('USER', 'UNUSER', 'META', 'SIEVE'), fc.constantFrom(...USERS)).map(([t, u]) => `${t} ${u}`),
  fc.tuple(fc.constantFrom(...USERS), fc.constantFrom('0a1b', '2c3d')).map(([u, id]) => `SEEN ${u} ${id}`),
  fc.tuple(fc.constantFrom('SUB', 'UNSUB'), fc.constantFrom(...USERS), fc.constantFrom('', '.Sent')).map(([t, u, f]) => `${t} ${u} user.${u}${f}`),
  fc.constantFrom(...USERS).map((u) => `DOUBLEMAILBOX user.${u}.Y user.${u}.Z`),
);

test('property: the deduplicated batch of each user plans the same work as all the lines of that user', () => {
  fc.assert(
    fc.property(fc.array(lineFor, { maxLength: 80 }), (lines) => {
      const { groups, count } = groupLines(text(...lines), {});
      assert.is(count, lines.length);
      for (const user of USERS) {
        const mine = lines.filter((l) => keyOf(l) === user);
        const group = groups.filter((g) => g.key === user);
        assert.is(group.length, mine.length ? 1 : 0);
        if (!mine.length) continue;
        assert.equal(shown(group[0]!.lines), [...new Set(mine)]);
        const everyLine = mine.flatMap((l) => linesOf(groupLines(text(l), {}).groups[0]!));
        assert.equal(planBatch(linesOf(group[0]!)), planBatch(everyLine));
      }
    }),
    { numRuns: 300 },
  );
});

/** A replicator that answers after a tick, records the order and how many batches it held at once. */
function recordingReplicator(fail: (b: UserBatch) => boolean = () => false) {
  const started: string[] = [];
  const finished: string[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const replicator: Replicator = {
    async replicate(batch: UserBatch): Promise<UserOutcome> {
      const label = `${batch.key}:${batch.lines.map((l) => l.type).join(',')}`;
      started.push(label);
      maxInFlight = Math.max(maxInFlight, ++inFlight);
      await new Promise((r) => setTimeout(r, 1));
      inFlight--;
      finished.push(label);
      return fail(batch) ? { ok: false, retryable: true, error: 'refused' } : { ok: true };
    },
    async close() {},
  };
  return { replicator, started, finished, maxInFlight: () => maxInFlight };
}

test('replicateGroups: a group starts only after the groups it depends on finished; in-flight batches are bounded', async () => {
  const lines: string[] = [];
  for (let u = 0; u < 40; u++) lines.push(`APPEND user.u${u}`);
  lines.push('RENAME user.u1.X user.u2.X', 'MAILBOX user.u1', 'MAILBOX user.u2');
  const r = recordingReplicator();
  const result = await replicateGroups(groupLines(text(...lines), {}), r.replicator, 8);
  assert.equal(result.failed, []);
  assert.equal(result.unconfirmed, []);
  assert.is(r.started.length, 43);
  assert.ok(r.maxInFlight() <= 8, `at most 8 at once, saw ${r.maxInFlight()}`);
  const finishedAt = (label: string) => r.finished.indexOf(label);
  const startedAt = (label: string) => r.started.indexOf(label);
  assert.ok(startedAt('u1:RENAME') > finishedAt('u1:APPEND') && startedAt('u1:RENAME') > finishedAt('u2:APPEND'));
  assert.ok(startedAt('u1:MAILBOX') > finishedAt('u1:RENAME') && startedAt('u2:MAILBOX') > finishedAt('u1:RENAME'));
});

test('replicateGroups: a failed batch fails the later batches of its user, and only those lines are unconfirmed', async () => {
  const log = text('APPEND user.a', 'APPEND user.b', 'APPEND user.b', 'RENAME user.a.X user.c.X', 'MAILBOX user.a', 'MAILBOX user.c', 'SEEN b 0a1b');
  const r = recordingReplicator((batch) => batch.key === 'a' && batch.lines[0]!.type === 'APPEND');
  const result = await replicateGroups(groupLines(log, {}), r.replicator);
  assert.equal(result.failed.map((f) => f.key), ['a', 'a', 'a', 'c']);
  assert.equal(result.unconfirmed, ['APPEND user.a', 'RENAME user.a.X user.c.X', 'MAILBOX user.a', 'MAILBOX user.c']);
  assert.not.ok(r.started.some((l) => l.includes('RENAME')), 'nothing after the failure was sent');
  assert.ok(r.finished.includes('b:APPEND,SEEN'), 'the other user went on');
});

test('replicateGroups: a failure dooms a long chain of one user\'s later batches without recursion, and an empty log finishes', async () => {
  const lines: string[] = [];
  for (let i = 0; i < 50_000; i++) lines.push(i % 2 ? 'APPEND user.a' : `RENAME user.a.X${i} user.b.X${i}`);
  const r = recordingReplicator((batch) => batch.lines[0]!.type === 'RENAME');
  const result = await replicateGroups(groupLines(text(...lines.slice(0, 1)), {}), r.replicator);
  assert.is(result.failed.length, 1);
  const long = await replicateGroups(groupLines(Buffer.from(lines.map((l) => `${l}\n`).join('')), {}), r.replicator);
  assert.is(long.failed.length, 50_000);
  assert.is(r.started.length, 2, 'only the first batch of each pass was sent');
  const empty = await replicateGroups(groupLines(Buffer.alloc(0), {}), r.replicator);
  assert.equal(empty, { lines: 0, malformed: [], failed: [], unconfirmed: [] });
});

test.run();
