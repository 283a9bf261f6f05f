import { test } from 'uvu';
import * as assert from 'uvu/assert';
import net from 'node:net';
import crypto from 'node:crypto';
import { DelayProxy } from '../../bench/delay-proxy.js';

async function echoServer(): Promise<net.Server> {
  const server = net.createServer((s) => s.pipe(s));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

test('the delay proxy preserves byte order under load and delays each direction', async () => {
  const server = await echoServer();
  const proxy = await DelayProxy.start((server.address() as net.AddressInfo).port, 5);
  const socket = net.connect(proxy.port, '127.0.0.1');
  await new Promise((r) => socket.once('connect', r));
  const sent = crypto.randomBytes(4 * 1024 * 1024);
  const received: Buffer[] = [];
  let got = 0;
  const done = new Promise<void>((resolve) => socket.on('data', (c: Buffer) => { received.push(c); got += c.length; if (got >= sent.length) resolve(); }));
  const started = performance.now();
  for (let off = 0; off < sent.length; off += 1 + (off % 7919)) socket.write(sent.subarray(off, Math.min(sent.length, off + 1 + (off % 7919))));
  await done;
  assert.ok(Buffer.concat(received).equals(sent), 'bytes arrive intact and in order');
  assert.ok(performance.now() - started >= 10, 'at least one delayed round trip');

  // One ping-pong = one round trip; a pipelined flight of 3 writes also one.
  proxy.resetStats();
  const echoOnce = (data: string) => new Promise<void>((resolve) => { socket.once('data', () => resolve()); socket.write(data); });
  const t0 = performance.now();
  await echoOnce('ping\n');
  assert.ok(performance.now() - t0 >= 9.5, 'RTT includes 5 ms each way');
  assert.is(proxy.stats.roundTrips, 1);
  socket.destroy();
  await proxy.close();
  server.close();
});

test.run();
