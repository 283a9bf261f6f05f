/**
 * The replica connection's byte layer: a TCP socket, optionally upgraded to
 * TLS (STARTTLS) and optionally wrapped in raw DEFLATE (COMPRESS, RFC 4978
 * style: windowBits -15, one sync flush per burst of writes). It offers line
 * reads for the handshake and then hands every plaintext byte to one
 * receiver (the response parser). It knows nothing of DLIST.
 */
import net from 'node:net';
import tls from 'node:tls';
import zlib from 'node:zlib';

export class ChannelClosedError extends Error {
  constructor(message: string, readonly reason: 'closed' | 'timeout' | 'error') {
    super(message);
  }
}

export class ByteChannel {
  private socket: net.Socket;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private waiters: Array<() => void> = [];
  private receiver: ((chunk: Buffer) => void) | null = null;
  private closedError: ChannelClosedError | null = null;
  private closeListeners: Array<(err: ChannelClosedError) => void> = [];
  private inflate: zlib.InflateRaw | null = null;
  private deflate: zlib.DeflateRaw | null = null;
  private readonly onSocketData = (chunk: Buffer) => {
    if (this.inflate) this.inflate.write(chunk);
    else this.deliver(chunk);
  };

  private constructor(socket: net.Socket, private readonly inactivityMs: number) {
    this.socket = socket;
    this.attach(socket);
  }

  static async connect(host: string, port: number, opts: { connectTimeoutMs: number; inactivityMs: number }): Promise<ByteChannel> {
    const socket = net.connect({ host, port });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new ChannelClosedError(`connect to ${host}:${port} timed out`, 'timeout'));
      }, opts.connectTimeoutMs);
      socket.once('connect', () => { clearTimeout(timer); resolve(); });
      socket.once('error', (err) => { clearTimeout(timer); reject(err); });
    });
    socket.setNoDelay(true);
    socket.setKeepAlive(true);
    return new ByteChannel(socket, opts.inactivityMs);
  }

  private attach(socket: net.Socket): void {
    socket.on('data', this.onSocketData);
    socket.on('error', (err) => this.fail(new ChannelClosedError(err.message, 'error')));
    socket.on('close', () => this.fail(new ChannelClosedError('connection closed by the replica', 'closed')));
    if (this.inactivityMs > 0) {
      socket.setTimeout(this.inactivityMs, () => {
        this.fail(new ChannelClosedError(`no data from the replica for ${this.inactivityMs} ms (sync_timeout)`, 'timeout'));
        socket.destroy();
      });
    }
  }

  private deliver(chunk: Buffer): void {
    if (this.receiver) {
      this.receiver(chunk);
      return;
    }
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  private fail(err: ChannelClosedError): void {
    if (this.closedError) return;
    this.closedError = err;
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
    for (const l of this.closeListeners) l(err);
  }

  get closed(): ChannelClosedError | null {
    return this.closedError;
  }

  get compressed(): boolean {
    return this.deflate !== null;
  }

  get encrypted(): boolean {
    return this.socket instanceof tls.TLSSocket;
  }

  onClose(listener: (err: ChannelClosedError) => void): void {
    this.closeListeners.push(listener);
    if (this.closedError) listener(this.closedError);
  }

  /** Reads one CRLF- or LF-terminated line (without the terminator). Handshake use only. */
  async readLine(timeoutMs: number): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const all = this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending, this.pendingBytes);
      const lf = all.indexOf(0x0a);
      if (lf >= 0) {
        const rest = all.subarray(lf + 1);
        this.pending = rest.length ? [rest] : [];
        this.pendingBytes = rest.length;
        const end = lf > 0 && all[lf - 1] === 0x0d ? lf - 1 : lf;
        return all.subarray(0, end).toString('latin1');
      }
      this.pending = all.length ? [all] : [];
      if (this.closedError) throw this.closedError;
      const left = deadline - Date.now();
      if (left <= 0) throw new ChannelClosedError(`no reply from the replica within ${timeoutMs} ms`, 'timeout');
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => { clearTimeout(timer); resolve(); });
      });
    }
  }

  /** From now on every plaintext byte goes to `receiver`, starting with anything buffered. */
  setReceiver(receiver: (chunk: Buffer) => void): void {
    this.receiver = receiver;
    const pending = this.pending;
    this.pending = [];
    this.pendingBytes = 0;
    for (const chunk of pending) receiver(chunk);
  }

  write(data: Buffer | string): void {
    if (this.closedError) throw this.closedError;
    if (this.deflate) {
      this.deflate.write(data);
      this.scheduleFlush();
    } else {
      this.socket.write(data);
    }
  }

  /** Write that resolves when the kernel (or deflate) has taken the bytes: for backpressure. */
  writeAsync(data: Buffer | string): Promise<void> {
    if (this.closedError) return Promise.reject(this.closedError);
    const target: NodeJS.WritableStream = this.deflate ?? this.socket;
    const flushed = target.write(data);
    if (this.deflate) this.scheduleFlush();
    if (flushed) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const onClose = () => reject(this.closedError ?? new ChannelClosedError('closed', 'closed'));
      target.once('drain', () => resolve());
      this.closeListeners.push(onClose);
    });
  }

  private flushScheduled = false;

  /**
   * One Z_SYNC_FLUSH for all writes made in the same turn of the event loop:
   * a pipelined flight is many small writes, and a flush per write made
   * deflate the biggest CPU cost of a shard worker. The peer still gets every
   * byte promptly, since the flush runs before any I/O wait.
   */
  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      if (this.deflate && !this.closedError) this.deflate.flush(zlib.constants.Z_SYNC_FLUSH);
    });
  }

  /** Upgrades the socket to TLS in place (after the server said OK to STARTTLS). */
  async startTls(options: tls.ConnectionOptions): Promise<void> {
    this.socket.removeListener('data', this.onSocketData);
    this.socket.removeAllListeners('close');
    this.socket.removeAllListeners('error');
    this.socket.setTimeout(0);
    const secure = tls.connect({ ...options, socket: this.socket });
    await new Promise<void>((resolve, reject) => {
      secure.once('secureConnect', resolve);
      secure.once('error', reject);
    });
    this.socket = secure;
    this.attach(secure);
  }

  /** Switches both directions to raw DEFLATE (after the server said OK to COMPRESS). */
  startCompression(): void {
    const inflate = zlib.createInflateRaw();
    const deflate = zlib.createDeflateRaw();
    inflate.on('data', (chunk: Buffer) => this.deliver(chunk));
    inflate.on('error', (err) => this.fail(new ChannelClosedError(`inflate: ${err.message}`, 'error')));
    deflate.on('data', (chunk: Buffer) => this.socket.write(chunk));
    deflate.on('error', (err) => this.fail(new ChannelClosedError(`deflate: ${err.message}`, 'error')));
    this.inflate = inflate;
    this.deflate = deflate;
  }

  close(): void {
    this.socket.destroy();
    this.inflate?.destroy();
    this.deflate?.destroy();
  }
}
