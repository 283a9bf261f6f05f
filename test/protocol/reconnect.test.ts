import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { freePorts } from '../../lab/cyrus-lab.js';
import { connectWithRetry, retryDelaysSeconds } from '../../src/protocol/reconnect.js';
import type { Endpoint } from '../../src/protocol/endpoint.js';
import { Secret } from '../../src/cyrus/secret.js';

test('backoff is 15 s doubling, capped by sync_reconnect_maxwait', () => {
  const twenty = retryDelaysSeconds(20);
  assert.equal([twenty(), twenty(), twenty(), twenty()], [15, 20, 20, 20]);
  const long = retryDelaysSeconds(1200);
  assert.equal([long(), long(), long(), long(), long(), long(), long()], [15, 30, 60, 120, 240, 480, 960]);
});

test("the daemon's backoff starts at 1 s and doubles to the same cap", () => {
  const daemon = retryDelaysSeconds(20, 1);
  assert.equal(Array.from({ length: 7 }, () => daemon()), [1, 2, 4, 8, 16, 20, 20]);
});

test("waits print stock's message and stop on abort; -o gives up at once", async () => {
  const [port] = await freePorts(1);
  const endpoint: Endpoint = {
    serverName: 'replica.example', host: '127.0.0.1', port: port!, authname: 'repl', password: new Secret('pw'),
    tryImap: false, requireTls: false, tls: {}, compress: true, connectTimeoutMs: 1000, replyTimeoutMs: 1000,
    reconnectMaxWaitMs: 20_000, fallbackPort: null,
  };
  const messages: string[] = [];
  const controller = new AbortController();
  const err = await connectWithRetry(endpoint, {
    signal: controller.signal,
    onWait: (message) => messages.push(message),
    sleep: async () => { if (messages.length === 4) controller.abort(new Error('stop')); },
  }).then(() => null, (e: Error) => e);
  assert.ok(err);
  assert.equal(messages, [15, 20, 20, 20].map((n) => `Can not connect to server 'replica.example', retrying in ${n} seconds`));
  const once = await connectWithRetry(endpoint, { once: true }).then(() => 'connected', (e: { code: string }) => e.code);
  assert.is(once, 'IMAP_AGAIN');
});

test.run();
