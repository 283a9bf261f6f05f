// ByteChannel with a SASL security layer, against a local peer that speaks
// a stand-in layer (4-byte length + XOR, at most 4096 plaintext bytes a
// packet, like sasl_encode with a 4 KB maxoutbuf): COMPRESS sits above the
// layer as in Cyrus's prot.c, both ways, and nothing is lost or reordered
// across packet and read boundaries.
import net from 'node:net';
import zlib from 'node:zlib';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ByteChannel, type SecurityLayer } from '../../src/protocol/byte-channel.js';

const MAX = 4096;
const xor = (b: Buffer) => Buffer.from(b.map((x) => x ^ 0x5a));

function frame(plain: Buffer): Buffer {
  const out: Buffer[] = [];
  for (let i = 0; i < plain.length; i += MAX) {
    const part = plain.subarray(i, i + MAX);
    const len = Buffer.alloc(4);
    len.writeUInt32BE(part.length);
    out.push(len, xor(part));
  }
  return Buffer.concat(out);
}

/** Unframes a stream fed in arbitrary pieces; complains about oversized packets. */
function unframer(onPacket: (plain: Buffer) => void): (chunk: Buffer) => void {
  let held = Buffer.alloc(0);
  return (chunk) => {
    held = Buffer.concat([held, chunk]);
    while (held.length >= 4) {
      const len = held.readUInt32BE(0);
      if (len > MAX) throw new Error(`packet of ${len} > maxbufsize`);
      if (held.length < 4 + len) break;
      onPacket(xor(held.subarray(4, 4 + len)));
      held = held.subarray(4 + len);
    }
  };
}

class FakeLayer implements SecurityLayer {
  disposed = false;
  private readonly out: Buffer[] = [];
  private readonly feed = unframer((p) => this.out.push(p));
  encode(plain: Buffer): Buffer {
    return frame(plain);
  }
  decode(wire: Buffer): Buffer {
    this.feed(wire);
    return Buffer.concat(this.out.splice(0));
  }
  dispose(): void {
    this.disposed = true;
  }
}

test('layer under COMPRESS: > 1 MB each way, whole and in order', async () => {
  const fromClient: Buffer[] = [];
  let serverSocket: net.Socket | null = null;
  const inflate = zlib.createInflateRaw();
  inflate.on('data', (c: Buffer) => fromClient.push(c));
  const server = net.createServer((socket) => {
    serverSocket = socket;
    const unframe = unframer((p) => inflate.write(p));
    socket.on('data', (c: Buffer) => unframe(c));
    socket.on('error', () => {});
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  const channel = await ByteChannel.connect('127.0.0.1', port, { connectTimeoutMs: 5000, inactivityMs: 0 });
  const layer = new FakeLayer();
  try {
    // The replica's OK and the first wrapped bytes arrive in one read: the tail is unwrapped on the switch.
    while (!serverSocket) await new Promise((r) => setTimeout(r, 10));
    const s = serverSocket as net.Socket;
    s.write(Buffer.concat([Buffer.from('OK Success (privacy protection)\r\n'), frame(Buffer.from('* early\r\n'))]));
    assert.is(await channel.readLine(5000, 4096), 'OK Success (privacy protection)');
    channel.startSecurityLayer(layer);
    assert.ok(channel.securityLayer);
    assert.is(await channel.readLine(5000, 4096), '* early');

    channel.startCompression();
    const deflate = zlib.createDeflateRaw();
    deflate.on('data', (c: Buffer) => s.write(frame(c)));
    const received: Buffer[] = [];
    channel.setReceiver((c) => received.push(c));

    const big = Buffer.alloc(1_300_000);
    for (let i = 0; i < big.length; i++) big[i] = (i * 7919) % 251;
    channel.write('APPLY NOOP\r\n');
    await channel.writeAsync(big);
    deflate.write(big);
    deflate.flush(zlib.constants.Z_SYNC_FLUSH);

    const deadline = Date.now() + 15_000;
    const want = big.length + 'APPLY NOOP\r\n'.length;
    while ((Buffer.concat(fromClient).length < want || Buffer.concat(received).length < big.length) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.ok(Buffer.concat(fromClient).equals(Buffer.concat([Buffer.from('APPLY NOOP\r\n'), big])), 'client → replica');
    assert.ok(Buffer.concat(received).equals(big), 'replica → client');
  } finally {
    channel.close();
    server.close();
  }
  assert.ok(layer.disposed, 'closing the channel disposes the layer');
});

test('a layer that cannot decode fails the channel', async () => {
  const server = net.createServer((socket) => {
    socket.on('error', () => {});
    socket.write('OK\r\n');
    setTimeout(() => socket.write(Buffer.from([0xff, 0xff, 0xff, 0xff, 1, 2, 3])), 50);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  const channel = await ByteChannel.connect('127.0.0.1', port, { connectTimeoutMs: 5000, inactivityMs: 0 });
  try {
    assert.is(await channel.readLine(5000, 4096), 'OK');
    channel.startSecurityLayer(new FakeLayer());
    const err = await channel.readLine(5000, 4096).then(() => null, (e: unknown) => e);
    assert.match(String((err as Error).message), /SASL layer: packet of \d+ > maxbufsize/);
  } finally {
    channel.close();
    server.close();
  }
});

test.run();
