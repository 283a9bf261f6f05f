/**
 * Helpers for the signal tests: stop a child and measure how long it takes
 * to exit; hold a Cyrus lock from another process, as a stuck Cyrus writer
 * or tool would.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { sleep } from './daemon.js';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', '..');

/** Sends `signal` and resolves with the exit code (or signal name) and the milliseconds it took. */
export async function stopTimed(child: ChildProcess, exited: Promise<number | string | null>, signal: NodeJS.Signals = 'SIGTERM'): Promise<{ code: number | string | null; ms: number }> {
  const t0 = Date.now();
  child.kill(signal);
  const code = await exited;
  return { code, ms: Date.now() - t0 };
}

/** A child process holding an exclusive OFD lock on `file` (created if missing) until release(). */
export async function holdLock(file: string): Promise<{ release: () => Promise<void> }> {
  const script = `
    import { LockFile } from ${JSON.stringify(path.join(root, 'src', 'native', 'index.ts'))};
    const lock = new LockFile(process.argv[1], { write: true, create: true });
    if (!lock.tryLock('exclusive')) throw new Error('already locked');
    process.stdout.write('locked\\n');
    process.stdin.on('end', () => process.exit(0));
    process.stdin.resume();
  `;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script, file], { cwd: root, stdio: ['pipe', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (c: Buffer) => c.toString().includes('locked') && resolve());
    child.on('exit', (code) => reject(new Error(`lock holder exited ${code}`)));
  });
  const gone = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  return {
    release: async () => {
      child.stdin!.end();
      await Promise.race([gone, sleep(5000).then(() => child.kill('SIGKILL'))]);
    },
  };
}

/**
 * A loopback TCP proxy to the replica that can stall: once stall() is
 * called it stops passing bytes either way (a replica that hangs mid-
 * upload), counting what the client sends meanwhile.
 */
export class StallProxy {
  private stalled = false;
  /** Client bytes still passed on before the stall begins. */
  private passBeforeStall = Infinity;
  /** Bytes the client sent since the stall began. */
  bytesHeld = 0;
  private readonly sockets = new Set<net.Socket>();

  private constructor(private readonly server: net.Server, readonly port: number) {}

  static async start(targetPort: number): Promise<StallProxy> {
    let proxy: StallProxy | null = null;
    const server = net.createServer((client) => proxy!.handle(client, targetPort));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    proxy = new StallProxy(server, (server.address() as net.AddressInfo).port);
    return proxy;
  }

  /** Stops passing bytes once the client has sent `afterBytes` more (0: now). */
  stall(afterBytes = 0): void {
    this.passBeforeStall = afterBytes;
    this.stalled = afterBytes === 0;
  }

  private handle(client: net.Socket, port: number): void {
    const upstream = net.connect({ port, host: '127.0.0.1' });
    this.sockets.add(client).add(upstream);
    client.on('data', (c: Buffer) => {
      if (!this.stalled && this.passBeforeStall !== Infinity) {
        const pass = Math.min(c.length, this.passBeforeStall);
        this.passBeforeStall -= pass;
        upstream.write(c.subarray(0, pass));
        c = c.subarray(pass);
        this.stalled = this.passBeforeStall === 0;
      }
      if (this.stalled) this.bytesHeld += c.length;
      else upstream.write(c);
    });
    upstream.on('data', (c: Buffer) => void (this.stalled || client.write(c)));
    const destroy = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', destroy).on('close', destroy);
    upstream.on('error', destroy).on('close', destroy);
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise((resolve) => this.server.close(resolve));
  }
}
