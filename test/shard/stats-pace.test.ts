import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { StatsPace } from '../../src/shard/stats-pace.js';

test('publishes at the fast pace while the row changes', () => {
  const pace = new StatsPace(1000, 10_000, 3);
  for (let i = 0; i < 10; i++) assert.is(pace.next(`row ${i}`), 1000);
  assert.not.ok(pace.idle);
});

test('slows to the idle pace after quietTicks unchanged publishes, and a changed tick speeds it up', () => {
  const pace = new StatsPace(1000, 10_000, 3);
  assert.is(pace.next('a'), 1000);
  assert.is(pace.next('a'), 1000);
  assert.is(pace.next('a'), 1000);
  assert.is(pace.next('a'), 10_000, 'third unchanged publish in a row');
  assert.ok(pace.idle);
  assert.is(pace.next('a'), 10_000);
  assert.is(pace.next('b'), 1000, 'a change seen by the timer');
  assert.not.ok(pace.idle);
});

test('a change seen between ticks asks for the fast pace only when idle', () => {
  const pace = new StatsPace(1000, 10_000, 2);
  pace.next('a');
  assert.not.ok(pace.observe('b'), 'not idle: the timer is already fast');
  pace.next('b');
  pace.next('b');
  assert.ok(pace.idle);
  assert.not.ok(pace.observe('b'), 'an unchanged row (an empty poll) keeps the idle pace');
  assert.ok(pace.idle);
  assert.ok(pace.observe('c'), 'a pass that changed the row');
  assert.not.ok(pace.idle);
  assert.is(pace.next('c'), 1000);
});

test('an idle pace shorter than the fast one is never used', () => {
  const pace = new StatsPace(1000, 10, 1);
  pace.next('a');
  assert.is(pace.next('a'), 1000);
});

test.run();
