// ByteChannel's output path against a local TCP peer: every byte written in
// a turn is coalesced, yet arrives complete and in order, plain or deflated,
// with large writes mixed in (they bypass the queue's limit and keep their
// backpressure).
import net from 'node:net';
import zlib from 'node:zlib';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ByteChannel } from '../../src/protocol/byte-channel.js';

async function peer(inflate: boolean): Promise<{ port: number; received: (bytes: number) => Promise<Buffer>; close: () => void }> {
  const chunks: Buffer[] = [];
  let total = 0;
  let wake = () => {};
  const server = net.createServer((socket) => {
    const sink = inflate ? socket.pipe(zlib.createInflateRaw()) : socket;
    sink.on('error', () => {}); // the stream ends without a final block when we close: not a finding
    socket.on('error', () => {});
    sink.on('data', (c: Buffer) => {
      chunks.push(c);
      total += c.length;
      wake();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    received: async (bytes) => {
      const deadline = Date.now() + 10_000;
      while (total < bytes && Date.now() < deadline) await new Promise<void>((r) => { wake = r; setTimeout(r, 50); });
      return Buffer.concat(chunks);
    },
    close: () => server.close(),
  };
}

/** Small lines, each its own write, with a big body (written async) every 500. */
async function writeMix(channel: ByteChannel): Promise<Buffer> {
  const expected: Buffer[] = [];
  for (let i = 0; i < 3000; i++) {
    const line = Buffer.from(`APPLY NOOP ${i} ${'x'.repeat(i % 40)}\r\n`);
    channel.write(line);
    expected.push(line);
    if (i % 500 === 499) {
      const body = Buffer.alloc(300_000 + i, i % 251);
      await channel.writeAsync(body);
      expected.push(body);
    }
  }
  return Buffer.concat(expected);
}

for (const mode of ['plain', 'deflate level 1', 'deflate default level'] as const) {
  test(`${mode}: many writes per turn arrive whole and in order`, async () => {
    const server = await peer(mode !== 'plain');
    const channel = await ByteChannel.connect('127.0.0.1', server.port, { connectTimeoutMs: 5000, inactivityMs: 0 });
    try {
      if (mode === 'deflate level 1') channel.startCompression(1);
      if (mode === 'deflate default level') channel.startCompression();
      const expected = await writeMix(channel);
      const got = await server.received(expected.length);
      assert.is(got.length, expected.length);
      assert.ok(got.equals(expected), 'bytes differ');
    } finally {
      channel.close();
      server.close();
    }
  });
}

test('bytes written before COMPRESS starts go out uncompressed', async () => {
  const raw: Buffer[] = [];
  const server = net.createServer((s) => s.on('data', (c: Buffer) => raw.push(c)));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const channel = await ByteChannel.connect('127.0.0.1', (server.address() as net.AddressInfo).port, { connectTimeoutMs: 5000, inactivityMs: 0 });
  try {
    channel.write('COMPRESS DEFLATE\r\n');
    channel.startCompression();
    channel.write('NOOP\r\n');
    const deadline = Date.now() + 5000;
    while (Buffer.concat(raw).length <= 18 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    const all = Buffer.concat(raw);
    assert.is(all.subarray(0, 18).toString(), 'COMPRESS DEFLATE\r\n');
    assert.is(zlib.inflateRawSync(all.subarray(18), { finishFlush: zlib.constants.Z_SYNC_FLUSH }).toString(), 'NOOP\r\n');
  } finally {
    channel.close();
    server.close();
  }
});

test('a long backpressured upload leaves no close listener behind per wait', async () => {
  const server = net.createServer((s) => {
    s.on('error', () => {});
    s.pause(); // fill the window, then read slowly so every big write waits for drain
    const timer = setInterval(() => { s.resume(); setTimeout(() => s.pause(), 5); }, 10);
    s.on('close', () => clearInterval(timer));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const channel = await ByteChannel.connect('127.0.0.1', (server.address() as net.AddressInfo).port, { connectTimeoutMs: 5000, inactivityMs: 0 });
  try {
    const block = Buffer.alloc(1024 * 1024, 'x');
    for (let i = 0; i < 32; i++) await channel.writeAsync(block);
    const listeners = (channel as unknown as { closeListeners: unknown[] }).closeListeners.length;
    assert.ok(listeners <= 1, `${listeners} close listeners left after 32 waits`);
  } finally {
    channel.close();
    server.close();
  }
});

test.run();
