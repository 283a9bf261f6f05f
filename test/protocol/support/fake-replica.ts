/**
 * A scripted fake replica for hostile-peer tests: a TCP server on 127.0.0.1
 * whose every accepted connection runs a script (greet like sync_server,
 * then misbehave), and which counts what it sent, so a test can show how
 * little the client took before it gave up. A script may also pass a
 * connection through to a real replica (`proxyTo`), so one connection of a
 * pool can be hostile while the others reach Cyrus.
 */
import net from 'node:net';

export interface FakeConnection {
  readonly socket: net.Socket;
  /** 0 for the first connection the fake accepted, 1 for the next, … */
  readonly index: number;
  /** Bytes written to the client so far. */
  sent: number;
  /** Writes (a string as latin1: one char, one byte), honouring backpressure; false once the client is gone. */
  write(data: string | Buffer): Promise<boolean>;
  /** The next line the client sends (without CRLF), or null when it closed. */
  readLine(): Promise<string | null>;
  /** Resolves when the client closed or reset the connection. */
  readonly gone: Promise<void>;
}

export type Script = (c: FakeConnection) => Promise<void> | void;

/** A csync banner offering PLAIN, as sync_server 3.6 sends it (no STARTTLS, no COMPRESS). */
export const CSYNC_BANNER = '* SASL PLAIN\r\n* OK fake.replica Cyrus sync server 3.6.1\r\n';

export class FakeReplica {
  readonly connections: FakeConnection[] = [];
  private readonly sockets = new Set<net.Socket>();

  private constructor(private readonly server: net.Server, readonly port: number) {}

  static async start(script: Script): Promise<FakeReplica> {
    let fake: FakeReplica | null = null;
    const server = net.createServer((socket) => fake!.accept(socket, script));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    fake = new FakeReplica(server, (server.address() as net.AddressInfo).port);
    return fake;
  }

  /** Bytes sent over every connection. */
  get sent(): number {
    return this.connections.reduce((n, c) => n + c.sent, 0);
  }

  private accept(socket: net.Socket, script: Script): void {
    this.sockets.add(socket);
    socket.on('error', () => {}); // the client resetting is part of every test
    const gone = new Promise<void>((resolve) => socket.once('close', () => {
      this.sockets.delete(socket);
      resolve();
    }));
    let buffered = '';
    const lines: string[] = [];
    let wake: (() => void) | null = null;
    socket.on('data', (chunk: Buffer) => {
      buffered += chunk.toString('latin1');
      let lf: number;
      while ((lf = buffered.indexOf('\n')) >= 0) {
        lines.push(buffered.slice(0, lf).replace(/\r$/, ''));
        buffered = buffered.slice(lf + 1);
      }
      wake?.();
    });
    void gone.then(() => wake?.());
    const connection: FakeConnection = {
      socket,
      index: this.connections.length,
      sent: 0,
      gone,
      async write(data) {
        if (socket.destroyed || !socket.writable) return false;
        const bytes = typeof data === 'string' ? Buffer.from(data, 'latin1') : data;
        connection.sent += bytes.length;
        if (socket.write(bytes)) return true;
        await Promise.race([new Promise((r) => socket.once('drain', r)), gone]);
        return !socket.destroyed;
      },
      async readLine() {
        while (lines.length === 0) {
          if (socket.destroyed) return null;
          await new Promise<void>((r) => (wake = r));
          wake = null;
        }
        return lines.shift()!;
      },
    };
    this.connections.push(connection);
    Promise.resolve(script(connection)).catch(() => socket.destroy());
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** Greets as sync_server and accepts any AUTHENTICATE; false if the client left. */
export async function greetAndAuthenticate(c: FakeConnection): Promise<boolean> {
  await c.write(CSYNC_BANNER);
  const auth = await c.readLine();
  if (auth === null || !auth.startsWith('AUTHENTICATE')) return false;
  return c.write('OK success\r\n');
}

/** Writes `data` one byte every `intervalMs` until done or the client leaves. */
export async function drip(c: FakeConnection, data: string, intervalMs: number): Promise<void> {
  for (const byte of data) {
    if (!(await c.write(byte))) return;
    await Promise.race([new Promise((r) => setTimeout(r, intervalMs)), c.gone]);
  }
}

/** Writes `chunk` again and again, never a line end, until the client leaves. */
export async function endlessLine(c: FakeConnection, chunkBytes = 64 * 1024): Promise<void> {
  const chunk = Buffer.alloc(chunkBytes, 'x');
  while (await c.write(chunk));
}

/** Passes the connection through to a real replica, byte for byte. */
export function proxyTo(port: number): Script {
  return (c) => {
    const upstream = net.connect({ host: '127.0.0.1', port });
    upstream.on('error', () => c.socket.destroy());
    c.socket.removeAllListeners('data');
    c.socket.pipe(upstream);
    upstream.on('data', (chunk: Buffer) => { c.sent += chunk.length; });
    upstream.pipe(c.socket);
    void c.gone.then(() => upstream.destroy());
  };
}
