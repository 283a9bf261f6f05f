/** The audit's connection guard: only GET, NOOP and EXIT reach the wire; APPLY and RESTART are refused locally. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { SyncConnection } from '../../src/protocol/connection.js';
import { guardReadOnly, WriteRefusedError } from '../../src/verify/read-only-replica.js';
import { ReplicaClient } from '../../src/protocol/replica-client.js';

function fakeConnection(sent: string[]): SyncConnection {
  return { send: async (verb: string) => (sent.push(verb), { items: [] }) } as unknown as SyncConnection;
}

test('APPLY and RESTART never reach the connection; GET does', async () => {
  const sent: string[] = [];
  const replica = new ReplicaClient(guardReadOnly(fakeConnection(sent)));
  await replica.getUser('tom');
  await replica.getMailboxes(['user.tom']);
  for (const write of [() => replica.applyUnmailbox('user.tom'), () => replica.applyUnuser('tom'), () => replica.restart()]) {
    try {
      await write();
      assert.unreachable('a write went through');
    } catch (err) {
      assert.instance(err, WriteRefusedError);
    }
  }
  assert.equal(sent, ['GET', 'GET']);
});

test.run();
