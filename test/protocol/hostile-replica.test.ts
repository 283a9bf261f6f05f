/**
 * Hostile and broken replicas, against a scripted fake (no Cyrus needed):
 * silence, a one-byte-a-second drip, a close inside a literal, a 2^40-byte
 * literal, garbage, an endless line. Each must end in a typed, transient
 * error (so the caller reconnects with its backoff) within a bounded time,
 * after the client took a bounded number of bytes; and while one
 * connection is stuck, another in the same process keeps working.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Secret } from '../../src/cyrus/secret.js';
import { MAX_REPLY_BYTES, REPLICA_LIMITS, SyncConnection, type ConnectOptions } from '../../src/protocol/connection.js';
import type { Endpoint } from '../../src/protocol/endpoint.js';
import { isConnectionError, SyncProtocolError, type ConnectionFault } from '../../src/protocol/errors.js';
import { MAX_HANDSHAKE_LINE } from '../../src/protocol/handshake.js';
import { connectWithRetry } from '../../src/protocol/reconnect.js';
import { ReplicaClient } from '../../src/protocol/replica-client.js';
import { drip, endlessLine, FakeReplica, greetAndAuthenticate, type Script } from './support/fake-replica.js';

const SECRET = 'hostile-test-password';

function options(port: number, over: Partial<ConnectOptions> = {}): ConnectOptions {
  return {
    host: '127.0.0.1', port, authname: 'repl', password: new Secret(SECRET), tryImap: false,
    requireTls: false, tls: {}, compress: false, connectTimeoutMs: 1000, replyTimeoutMs: 1000, ...over,
  };
}

async function withFake<T>(script: Script, body: (fake: FakeReplica) => Promise<T>): Promise<T> {
  const fake = await FakeReplica.start(script);
  try {
    return await body(fake);
  } finally {
    await fake.close();
  }
}

/** Runs `fn`, which must fail; returns the error and how long it took. */
async function failure(fn: () => Promise<unknown>): Promise<{ err: SyncProtocolError; ms: number }> {
  const start = Date.now();
  const err = await fn().then(() => null, (e: unknown) => e);
  assert.instance(err, SyncProtocolError, `expected a SyncProtocolError, got ${String(err)}`);
  return { err: err as SyncProtocolError, ms: Date.now() - start };
}

function assertFault(err: SyncProtocolError, fault: ConnectionFault, text: RegExp): void {
  assert.is(err.fault, fault, err.message);
  assert.ok(err.transient, `${err.message} must be transient (reconnect)`);
  assert.ok(isConnectionError(err), `${err.message} must count as a lost connection (batch retried)`);
  assert.match(err.message, text);
  assert.not.match(err.message, SECRET);
}

/** Greets, then answers the first command with `reply` (a script of its own). */
function afterFirstCommand(reply: Script): Script {
  return async (c) => {
    if (!(await greetAndAuthenticate(c))) return;
    if ((await c.readLine()) === null) return;
    await reply(c);
  };
}

/** Connects to a fake whose handshake is fine and sends one GET USER. */
async function firstCommand(port: number, over: Partial<ConnectOptions> = {}): Promise<unknown> {
  const conn = await SyncConnection.connect(options(port, over));
  try {
    return await new ReplicaClient(conn).getUser('tom');
  } finally {
    await conn.close();
  }
}

test('no greeting: a timeout after client_timeout, then stock waits (15 s doubling) or the daemon (1 s)', async () => {
  await withFake(() => {}, async (fake) => {
    const { err, ms } = await failure(() => SyncConnection.connect(options(fake.port, { connectTimeoutMs: 400 })));
    assertFault(err, 'timeout', /sent no greeting within 400 ms \(client_timeout\)/);
    assert.ok(ms >= 350 && ms < 2000, `took ${ms} ms`);

    for (const [first, expected] of [[undefined, [15, 30, 60, 60]], [1, [1, 2, 4, 8]]] as const) {
      const endpoint: Endpoint = { ...options(fake.port, { connectTimeoutMs: 100 }), serverName: 'fake', reconnectMaxWaitMs: 60_000, fallbackPort: null };
      const waits: number[] = [];
      const causes: string[] = [];
      const controller = new AbortController();
      await connectWithRetry(endpoint, {
        firstRetrySeconds: first,
        signal: controller.signal,
        onWait: (_m, seconds, cause) => { waits.push(seconds); causes.push(cause.message); },
        sleep: async () => { if (waits.length === 4) controller.abort(new Error('enough')); },
      }).catch(() => {});
      assert.equal(waits, [...expected]);
      assert.ok(causes.every((c) => /sent no greeting/.test(c)), causes.join('\n'));
    }
  });
});

test('a replica that says OK to STARTTLS and then stays silent: a timeout at client_timeout', async () => {
  const script: Script = async (c) => {
    await c.write('* STARTTLS\r\n* OK fake\r\n');
    if ((await c.readLine()) === 'STARTTLS') await c.write('OK begin TLS now\r\n');
  };
  await withFake(script, async (fake) => {
    const { err, ms } = await failure(() => SyncConnection.connect(options(fake.port, { connectTimeoutMs: 800 })));
    assertFault(err, 'timeout', /did not complete the TLS handshake within 800 ms \(client_timeout\)/);
    assert.ok(ms < 2000, `took ${ms} ms`);
  });
});

test('one byte a second: the greeting hits client_timeout, a reply hits sync_timeout', async () => {
  await withFake((c) => drip(c, '* SASL PLAIN\r\n* OK slow\r\n', 1000), async (fake) => {
    const { err, ms } = await failure(() => SyncConnection.connect(options(fake.port, { connectTimeoutMs: 1500 })));
    assertFault(err, 'timeout', /sent no greeting within 1500 ms/);
    assert.ok(ms < 3000, `took ${ms} ms`);
  });
  // The reply drips a valid item a byte a second: every byte is "activity", yet it must end at sync_timeout.
  const slowReply = afterFirstCommand((c) => drip(c, '* USER %(USERID tom)\r\nOK success\r\n', 1000));
  await withFake(slowReply, async (fake) => {
    const { err, ms } = await failure(() => firstCommand(fake.port, { replyTimeoutMs: 3000 }));
    assertFault(err, 'timeout', /no complete reply to GET USER within 3000 ms \(sync_timeout\) \([1-9]\d* bytes of it arrived\)/);
    assert.ok(ms >= 2900 && ms < 5000, `took ${ms} ms`);
  });
});

test('a close in the middle of a literal fails every pending command, saying where', async () => {
  const script = afterFirstCommand(async (c) => {
    await c.write('* USER %(USERID {100+}\r\n0123456789');
    c.socket.end();
  });
  await withFake(script, async (fake) => {
    const conn = await SyncConnection.connect(options(fake.port));
    const replica = new ReplicaClient(conn);
    const results = await Promise.allSettled([replica.getUser('tom'), replica.getMeta('tom'), replica.noop()]);
    for (const r of results) {
      assert.is(r.status, 'rejected');
      assertFault((r as PromiseRejectedResult).reason, 'closed', /closed by the replica inside a literal of the reply to GET USER/);
    }
    assert.ok(conn.closedByReplica);
  });
});

test('a literal announcing 2^40 bytes is refused at once, before any of it is read', async () => {
  const script = afterFirstCommand(async (c) => {
    await c.write('* USER %(USERID {1099511627776+}\r\n');
    await endlessLine(c); // the body, as fast as the client takes it
  });
  await withFake(script, async (fake) => {
    const { err, ms } = await failure(() => firstCommand(fake.port));
    assertFault(err, 'limit', /literal of 1099511627776 bytes exceeds maxLiteralSize 268435456/);
    assert.ok(ms < 1000, `took ${ms} ms`);
    // What the client read before it closed: the announcement and at most a few socket buffers.
    assert.ok(fake.sent < 16 * 1024 * 1024, `the client took ${fake.sent} bytes`);
  });
});

test('garbage after the greeting: in the banner, as the auth reply, and as a reply to a command', async () => {
  const cases: Array<[string, Script, RegExp]> = [
    ['banner', (c) => void c.write('* SASL PLAIN\r\n\x00\xffGET / HTTP/1.0\r\n'), /unexpected csync banner line: \\x00\\xffGET/],
    ['auth', async (c) => { await c.write('* SASL PLAIN\r\n* OK hi\r\n'); await c.readLine(); await c.write('HTTP/1.1 400 Bad Request\r\n'); }, /unexpected reply to authentication: HTTP/],
  ];
  for (const [name, script, text] of cases) {
    await withFake(script, async (fake) => {
      const { err, ms } = await failure(() => SyncConnection.connect(options(fake.port)));
      assertFault(err, 'garbage', text);
      assert.is(err.code, 'IMAP_PROTOCOL_ERROR', name);
      assert.ok(ms < 1000, `${name} took ${ms} ms`);
    });
  }
  await withFake(afterFirstCommand((c) => void c.write('\x16\x03\x01 not csync at all\r\n')), async (fake) => {
    const { err } = await failure(() => firstCommand(fake.port));
    assertFault(err, 'garbage', /unparseable response line: \\x16\\x03\\x01 not csync/);
  });
  await withFake(afterFirstCommand((c) => void c.write('* USER %(USERID (((\r\n')), async (fake) => {
    const { err } = await failure(() => firstCommand(fake.port));
    assertFault(err, 'garbage', /unparseable response line: \* USER/);
  });
  // A reply nobody asked for: the csync stream has no tags, so every later reply would be off by one.
  await withFake(afterFirstCommand((c) => void c.write('OK success\r\nOK one too many\r\n')), async (fake) => {
    const conn = await SyncConnection.connect(options(fake.port));
    await new ReplicaClient(conn).noop();
    for (let i = 0; i < 100 && !conn.failure; i++) await new Promise((r) => setTimeout(r, 10));
    assert.ok(conn.failure, 'the connection is dropped');
    assertFault(conn.failure!, 'garbage', /unexpected reply with nothing pending: OK one too many/);
  });
});

test('an endless line: the handshake stops at 64 KiB, a reply at the 64 MiB line cap', async () => {
  await withFake((c) => endlessLine(c), async (fake) => {
    const { err, ms } = await failure(() => SyncConnection.connect(options(fake.port, { connectTimeoutMs: 10_000 })));
    assertFault(err, 'limit', new RegExp(`exceeds ${MAX_HANDSHAKE_LINE} bytes during the handshake`));
    assert.ok(ms < 2000, `took ${ms} ms`);
    assert.ok(fake.sent < MAX_HANDSHAKE_LINE + 8 * 1024 * 1024, `the client took ${fake.sent} bytes`);
  });
  await withFake(afterFirstCommand(async (c) => { await c.write('* USER '); await endlessLine(c); }), async (fake) => {
    const { err, ms } = await failure(() => firstCommand(fake.port, { replyTimeoutMs: 20_000 }));
    assertFault(err, 'limit', new RegExp(`line exceeds maxLineLength ${REPLICA_LIMITS.maxLineLength}`));
    assert.ok(ms < 15_000, `took ${ms} ms`);
    assert.ok(fake.sent < REPLICA_LIMITS.maxLineLength + 8 * 1024 * 1024, `the client took ${fake.sent} bytes`);
  });
  assert.ok(MAX_REPLY_BYTES <= REPLICA_LIMITS.maxFrameSize);
});

test('while one connection is stalled, another in the same process completes its work', async () => {
  // Connection 0 greets and then never answers; every later one answers NOOP at once.
  const script: Script = async (c) => {
    if (!(await greetAndAuthenticate(c))) return;
    if (c.index === 0) return;
    for (let line = await c.readLine(); line !== null; line = await c.readLine()) {
      if (line === 'NOOP') await c.write('OK noop\r\n');
      if (line === 'EXIT') await c.write('OK bye\r\n');
    }
  };
  await withFake(script, async (fake) => {
    const stalled = await SyncConnection.connect(options(fake.port, { replyTimeoutMs: 3000 }));
    const healthy = await SyncConnection.connect(options(fake.port, { replyTimeoutMs: 3000 }));
    const stuck = new ReplicaClient(stalled).noop().then(() => null, (e: SyncProtocolError) => e);
    const start = Date.now();
    let done = 0;
    while (Date.now() - start < 1000) {
      await new ReplicaClient(healthy).noop();
      done++;
    }
    assert.ok(done > 50, `only ${done} NOOPs completed beside the stalled connection`);
    assert.is(stalled.inFlight, 1, 'the stalled command is still pending, not lost');
    const err = await stuck;
    assert.ok(err && err.fault === 'timeout', String(err));
    await healthy.close();
  });
});

test.run();
