/**
 * A loopback TCP proxy that adds a fixed one-way delay in each direction,
 * to emulate a WAN link to the replica, and counts round trips on the wire.
 *
 * Byte order is preserved because every chunk is released in arrival order
 * at arrival time + delay (a FIFO with one timer); throughput is not capped
 * because chunks are forwarded whole, never paced. A "round trip" is a
 * client→server flight that begins after the server has sent something:
 * pipelined commands in one flight count once, lock-step commands once each.
 * That works without decoding, so it counts compressed streams too.
 * It can also record each connection's bytes, for the replay in e2e/floor.ts.
 */
import net from 'node:net';

export interface ProxyStats {
  connections: number;
  roundTrips: number;
  bytesUp: number;
  bytesDown: number;
}

/** A chunk, or null for the sender's end of stream (passed on as a half-close). */
type Item = { due: number; chunk: Buffer | null };

class DelayedPipe {
  private queue: Item[] = [];
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly to: net.Socket, private readonly delayMs: number) {}

  push(chunk: Buffer): void {
    this.enqueue(chunk);
  }

  /** The sender closed: close towards the receiver once everything before it is through. */
  end(): void {
    this.enqueue(null);
  }

  private enqueue(chunk: Buffer | null): void {
    if (this.delayMs <= 0) {
      this.forward(chunk);
      return;
    }
    this.queue.push({ due: performance.now() + this.delayMs, chunk });
    if (!this.timer) this.schedule();
  }

  private forward(chunk: Buffer | null): void {
    if (this.to.destroyed) return;
    if (chunk) this.to.write(chunk);
    else this.to.end();
  }

  private schedule(): void {
    const head = this.queue[0];
    if (!head) {
      this.timer = null;
      return;
    }
    this.timer = setTimeout(() => this.release(), Math.max(0, head.due - performance.now()));
  }

  private release(): void {
    const now = performance.now();
    while (this.queue.length && this.queue[0]!.due <= now + 0.5) this.forward(this.queue.shift()!.chunk);
    this.schedule();
  }

  close(): void {
    if (this.timer) clearTimeout(this.timer);
    this.queue = [];
  }
}

/** What one proxied connection carried, in order: client→server (`up`) and server→client (`down`). */
export interface ConnectionRecording {
  up: Buffer[];
  down: Buffer[];
}

export class DelayProxy {
  readonly stats: ProxyStats = { connections: 0, roundTrips: 0, bytesUp: 0, bytesDown: 0 };
  private readonly sockets = new Set<net.Socket>();
  private recordings: ConnectionRecording[] | null = null;

  private constructor(private readonly server: net.Server, readonly port: number) {}

  static async start(targetPort: number, delayMs: number, targetHost = '127.0.0.1'): Promise<DelayProxy> {
    let proxy: DelayProxy | null = null;
    // Half-open on both sides, so a close travels with the same delay as the data before it.
    const server = net.createServer({ allowHalfOpen: true }, (client) => proxy!.handle(client, targetHost, targetPort, delayMs));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    proxy = new DelayProxy(server, (server.address() as net.AddressInfo).port);
    return proxy;
  }

  private handle(client: net.Socket, host: string, port: number, delayMs: number): void {
    this.stats.connections++;
    const upstream = net.connect({ port, host, allowHalfOpen: true });
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    this.sockets.add(client).add(upstream);
    const up = new DelayedPipe(upstream, delayMs);
    const down = new DelayedPipe(client, delayMs);
    const recording: ConnectionRecording | null = this.recordings ? { up: [], down: [] } : null;
    if (recording) this.recordings!.push(recording);
    let serverSpokeLast = true; // the greeting/banner comes first
    client.on('data', (chunk: Buffer) => {
      if (serverSpokeLast) this.stats.roundTrips++;
      serverSpokeLast = false;
      this.stats.bytesUp += chunk.length;
      recording?.up.push(chunk);
      up.push(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      serverSpokeLast = true;
      this.stats.bytesDown += chunk.length;
      recording?.down.push(chunk);
      down.push(chunk);
    });
    client.on('end', () => up.end());
    upstream.on('end', () => down.end());
    let open = 2;
    const closed = () => {
      if (--open > 0) return;
      up.close();
      down.close();
      this.sockets.delete(client);
      this.sockets.delete(upstream);
    };
    const destroy = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('close', closed).on('error', destroy);
    upstream.on('close', closed).on('error', destroy);
  }

  /** Connections opened from now on are recorded whole. */
  startRecording(): void {
    this.recordings = [];
  }

  stopRecording(): ConnectionRecording[] {
    const out = this.recordings ?? [];
    this.recordings = null;
    return out;
  }

  /** Cuts every open connection (both sides), as a network fault would; the proxy keeps accepting. */
  dropAll(): void {
    for (const s of this.sockets) s.destroy();
  }

  resetStats(): void {
    Object.assign(this.stats, { connections: 0, roundTrips: 0, bytesUp: 0, bytesDown: 0 });
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise((resolve) => this.server.close(resolve));
  }
}
