/**
 * The replica connection's byte layer: a TCP socket, optionally upgraded to
 * TLS (STARTTLS) and optionally wrapped in raw DEFLATE (COMPRESS, RFC 4978
 * style: windowBits -15, one sync flush per burst of writes, deflate-link.ts). It offers line
 * reads for the handshake and then hands every plaintext byte to one
 * receiver (the response parser). It knows nothing of DLIST.
 *
 * A SASL security layer (GSSAPI, DIGEST-MD5 with a layer) sits between TLS
 * and DEFLATE, as in Cyrus's prot.c: what we send is deflated, then
 * sasl_encode()d in pieces of at most the peer's maxbufsize, then written
 * (into TLS, if any); what arrives is sasl_decode()d, then inflated.
 *
 * Memory: before the receiver is set, what arrives is held only for
 * readLine, which fails once a line passes its byte cap (the handshake's
 * MAX_HANDSHAKE_LINE), so at most that plus one socket read is held; after
 * it, every byte goes straight on and the receiver bounds what it keeps.
 */
import net from 'node:net';
import tls from 'node:tls';
import zlib from 'node:zlib';
import { DeflateLink, InflateLink } from './deflate-link.js';
import { SyncmuxError } from '../errors.js';

/** An established SASL security layer (src/native SaslClient). */
export interface SecurityLayer {
  /** Wraps plaintext; splits it at the peer's maxbufsize itself. */
  encode(plain: Buffer): Buffer;
  /** Unwraps what arrived; keeps partial packets until complete. */
  decode(wire: Buffer): Buffer;
  dispose(): void;
}

export class ChannelClosedError extends SyncmuxError {
  constructor(message: string, readonly reason: 'closed' | 'timeout' | 'error') {
    super('SYNCMUX_CHANNEL_CLOSED', message);
  }
}

/** readLine saw more than its cap without a line end: the peer is not speaking a line protocol. */
export class LineTooLongError extends SyncmuxError {
  constructor(readonly limit: number) {
    super('SYNCMUX_LINE_TOO_LONG', `a line from the replica exceeds ${limit} bytes`);
  }
}

/** Queued output is handed on at once beyond this, so a streamed body keeps its backpressure. */
const COALESCE_LIMIT = 256 * 1024;

export class ByteChannel {
  private socket: net.Socket;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private waiters: Array<() => void> = [];
  private receiver: ((chunk: Buffer) => void) | null = null;
  private closedError: ChannelClosedError | null = null;
  private closeListeners: Array<(err: ChannelClosedError) => void> = [];
  private inflate: InflateLink | null = null;
  private deflate: DeflateLink | null = null;
  private outgoing: Buffer[] = [];
  private outgoingBytes = 0;
  private layer: SecurityLayer | null = null;
  private readonly onSocketData = (chunk: Buffer) => {
    if (this.layer) {
      try {
        chunk = this.layer.decode(chunk);
      } catch (err) {
        this.fail(new ChannelClosedError(`SASL layer: ${(err as Error).message}`, 'error'));
        this.socket.destroy();
        return;
      }
      if (chunk.length === 0) return;
    }
    if (!this.inflate) return this.deliver(chunk);
    let plain: Buffer;
    try {
      plain = this.inflate.push(chunk);
    } catch (err) {
      this.fail(new ChannelClosedError(`inflate: ${(err as Error).message}`, 'error'));
      this.socket.destroy();
      return;
    }
    if (plain.length > 0) this.deliver(plain);
  };

  /** Writes to the socket through the security layer, if any. */
  private toSocket(data: Buffer): boolean {
    if (!this.layer) return this.socket.write(data);
    let wire: Buffer;
    try {
      wire = this.layer.encode(data);
    } catch (err) {
      this.fail(new ChannelClosedError(`SASL layer: ${(err as Error).message}`, 'error'));
      this.socket.destroy();
      return true;
    }
    return this.socket.write(wire);
  }

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

  /**
   * Reads one CRLF- or LF-terminated line (without the terminator) within
   * `timeoutMs`, however slowly its bytes come. Handshake use only; a line
   * longer than `maxBytes` fails with LineTooLongError (then the channel is
   * unusable: the caller closes it).
   */
  async readLine(timeoutMs: number, maxBytes: number): Promise<string> {
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
      if (all.length > maxBytes) throw new LineTooLongError(maxBytes);
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
    this.enqueue(data);
  }

  /** Write that resolves when the kernel (or deflate) has taken the bytes: for backpressure. */
  writeAsync(data: Buffer | string): Promise<void> {
    if (this.closedError) return Promise.reject(this.closedError);
    if (this.enqueue(data)) return Promise.resolve();
    const target: NodeJS.EventEmitter = this.deflate ?? this.socket;
    return new Promise((resolve, reject) => {
      // Each wait's close listener goes once it drained: a long upload waits thousands of times.
      const onClose = () => reject(this.closedError ?? new ChannelClosedError('closed', 'closed'));
      target.once('drain', () => {
        const i = this.closeListeners.indexOf(onClose);
        if (i >= 0) this.closeListeners.splice(i, 1);
        resolve();
      });
      this.closeListeners.push(onClose);
    });
  }

  /**
   * Everything written in one turn of the event loop leaves as one buffer:
   * a pipelined flight is hundreds of small writes, and each write into a
   * zlib stream (or onto a no-delay socket) has a fixed cost that dwarfed the
   * compression itself. The turn ends before any I/O wait, so nothing is
   * held back. Returns false when the target asks us to wait (backpressure).
   */
  private enqueue(data: Buffer | string): boolean {
    const buf = typeof data === 'string' ? Buffer.from(data) : data;
    this.outgoing.push(buf);
    this.outgoingBytes += buf.length;
    if (this.outgoingBytes >= COALESCE_LIMIT) return this.drainOutgoing();
    this.scheduleFlush();
    return true;
  }

  private drainOutgoing(): boolean {
    if (this.outgoing.length === 0) return true;
    const data = this.outgoing.length === 1 ? this.outgoing[0]! : Buffer.concat(this.outgoing, this.outgoingBytes);
    this.outgoing = [];
    this.outgoingBytes = 0;
    if (!this.deflate) return this.toSocket(data);
    return this.deflate.write(data); // deflated and sync-flushed as one piece
  }

  private flushScheduled = false;

  /** At the end of the turn: hand over what is queued, as one write (and one Z_SYNC_FLUSH). */
  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      if (this.closedError) return;
      this.drainOutgoing();
    });
  }

  /**
   * Upgrades the socket to TLS in place (after the server said OK to
   * STARTTLS), failing with a timeout if the TLS handshake is not done
   * within `timeoutMs` (a peer that says OK and then stays silent).
   */
  async startTls(options: tls.ConnectionOptions, timeoutMs: number): Promise<void> {
    this.drainOutgoing();
    this.socket.removeListener('data', this.onSocketData);
    this.socket.removeAllListeners('close');
    this.socket.removeAllListeners('error');
    this.socket.setTimeout(0);
    const secure = tls.connect({ ...options, socket: this.socket });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        secure.destroy();
        reject(new ChannelClosedError(`no TLS handshake from the replica within ${timeoutMs} ms`, 'timeout'));
      }, timeoutMs);
      secure.once('secureConnect', () => { clearTimeout(timer); resolve(); });
      secure.once('error', (err) => { clearTimeout(timer); reject(err); });
    });
    this.socket = secure;
    this.attach(secure);
  }

  /**
   * Switches both directions to raw DEFLATE (after the server said OK to
   * COMPRESS). `level` is ours alone: the stream format does not depend on it.
   */
  startCompression(level: number = zlib.constants.Z_DEFAULT_COMPRESSION): void {
    this.drainOutgoing(); // what was written before the switch goes out uncompressed
    this.inflate = new InflateLink();
    this.deflate = new DeflateLink(level, (data) => this.toSocket(data), (err) => {
      this.fail(new ChannelClosedError(`deflate: ${err.message}`, 'error'));
      this.socket.destroy();
    });
  }

  /**
   * Puts a SASL security layer under everything from now on (after the
   * replica's final authentication OK, before COMPRESS). Bytes that already
   * arrived behind that OK were sent through the layer: they are unwrapped.
   */
  startSecurityLayer(layer: SecurityLayer): void {
    this.drainOutgoing(); // written before the switch: leaves in the clear
    this.layer = layer;
    const pending = this.pending;
    this.pending = [];
    this.pendingBytes = 0;
    for (const chunk of pending) this.onSocketData(chunk);
  }

  /** Both ends as "ip;port", the form Cyrus hands libsasl2 (iptostring). */
  get endpoints(): { local: string; remote: string } {
    const s = this.socket;
    return { local: `${s.localAddress ?? ''};${s.localPort ?? ''}`, remote: `${s.remoteAddress ?? ''};${s.remotePort ?? ''}` };
  }

  /**
   * After STARTTLS: the cipher's strength in bits (SASL's external SSF, as
   * Cyrus takes it from SSL_CIPHER_get_bits) and the replica certificate's
   * CN, which stock gives libsasl2 as the external auth id.
   */
  get tlsState(): { ssf: number; peerCn: string | null } | null {
    if (!(this.socket instanceof tls.TLSSocket)) return null;
    const cipher = this.socket.getCipher();
    const name = `${cipher?.name ?? ''} ${cipher?.standardName ?? ''}`;
    const ssf = /256|CHACHA20/i.test(name) ? 256 : /128/.test(name) ? 128 : /3DES|DES-CBC3/i.test(name) ? 112 : 56;
    const cn = this.socket.getPeerCertificate()?.subject?.CN;
    return { ssf, peerCn: typeof cn === 'string' && cn ? cn : Array.isArray(cn) ? (cn[0] ?? null) : null };
  }

  get securityLayer(): boolean {
    return this.layer !== null;
  }

  close(): void {
    this.layer?.dispose();
    this.socket.destroy();
    this.inflate?.close();
    this.deflate?.close();
  }
}
