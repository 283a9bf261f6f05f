/**
 * The whole-file walks of mailboxes.db (`-A`'s user list, the daemon's
 * background audit and `syncmux verify --all`) wait for its lock on the
 * event loop: with another process holding mailboxes.db exclusively for
 * 1.5 s, the walk waits, timers keep running, and the walk then sees every
 * user. A stop ends the audit's wait at once.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { loadConfig } from '../../src/cyrus/config.js';
import { LockError } from '../../src/cyrus/lock.js';
import { Mboxlist, mboxlistPath } from '../../src/cyrus/mboxlist.js';
import { allSubjects } from '../../src/verify/subjects.js';
import { watchEventLoop } from '../support/event-loop.js';
import { holdLock } from '../support/signals.js';
import { skip } from '../support/skip.js';
import { CyrusEnv, cyrusUnavailable } from './support/cyrus-env.js';

const HOLD_MS = 1500;
const NAME = 'whole reads of a locked mailboxes.db wait on the event loop';

test(NAME, async () => {
  const why = cyrusUnavailable();
  if (why) return skip(NAME, why);
  const env = CyrusEnv.create();
  try {
    const common = { partition: 'default', uidvalidity: '1700000000', createdmodseq: '1', foldermodseq: '1', mbtype: 'e' };
    env.undump({
      'user.ann': { ...common, uniqueid: 'a1000000-1111-2222-3333-444455556666', acl: { ann: 'lrswipkxtecdan' } },
      'user.ann.Sent': { ...common, uniqueid: 'a2000000-1111-2222-3333-444455556666', acl: { ann: 'lrswipkxtecdan' } },
      'user.bob': { ...common, uniqueid: 'b1000000-1111-2222-3333-444455556666', acl: { bob: 'lrswipkxtecdan' } },
      'shared.news': { ...common, uniqueid: 'c1000000-1111-2222-3333-444455556666', acl: { anyone: 'lrs' } },
    });
    const cfg = loadConfig(env.conf);
    const expected = [{ user: 'ann' }, { user: 'bob' }, { user: '@', mailboxes: ['shared.news'] }];

    for (const walk of [async () => [...(await Mboxlist.open(cfg)).entries()].length, async () => allSubjects(cfg)]) {
      const lock = await holdLock(mboxlistPath(cfg));
      const loop = watchEventLoop();
      const started = Date.now();
      const result = walk();
      setTimeout(() => void lock.release(), HOLD_MS);
      const value = await result;
      const { p99Ms, ticks } = loop.stop();
      assert.ok(Date.now() - started >= HOLD_MS - 100, 'the walk waited for the lock');
      assert.ok(p99Ms < 20, `event loop delay p99 ${p99Ms.toFixed(1)} ms while mailboxes.db was locked`);
      assert.ok(ticks >= (HOLD_MS / 10) * 0.6, `timers ran ${ticks} times in ${HOLD_MS} ms while mailboxes.db was locked`);
      assert.equal(value, typeof value === 'number' ? 4 : expected);
    }

    // The audit passes its stop signal: a stop during the wait ends it at once.
    const lock = await holdLock(mboxlistPath(cfg));
    try {
      const stop = new AbortController();
      const started = Date.now();
      setTimeout(() => stop.abort(), 100);
      const err = await allSubjects(cfg, { signal: stop.signal }).then(() => null, (e: unknown) => e);
      assert.ok(err instanceof LockError && err.errno === 'ECANCELED', String(err));
      assert.ok(Date.now() - started < 1000, 'the stop ended the wait');
    } finally {
      await lock.release();
    }
  } finally {
    env.cleanup();
  }
});

test.run();
