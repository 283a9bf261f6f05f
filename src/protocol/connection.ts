/**
 * One authenticated replication session, pipelined: any number of commands
 * may be in flight; replies are matched in order (csync has no tags, so
 * order is the only key; in IMAP mode the tag is checked as well). The
 * caller decides what to pipeline; this layer guarantees order, framing and
 * that every pending command settles exactly once, with a typed error when
 * the connection dies.
 */
import { Writable } from 'node:stream';
import type tls from 'node:tls';
import { ResponseParser, printCommand, writeChunks, type Keyed, type OutChunk } from '../dlist/index.js';
import { ByteChannel } from './byte-channel.js';
import { noCode, SyncProtocolError, type SyncErrorCode } from './errors.js';
import { handshake, type AuthLog, type HandshakeResult } from './handshake.js';
import type { Secret } from '../cyrus/secret.js';

export type Verb = 'GET' | 'APPLY' | 'RESTART' | 'NOOP' | 'EXIT';

export interface Reply {
  /** The `* KEY value` items, in order. */
  items: Keyed[];
  /** Text after OK. */
  text: string;
}

export interface ConnectOptions {
  host: string;
  port: number;
  authname: string;
  password: Secret;
  /** sync_realm. */
  realm?: string | null;
  /** `<shorthost>_mechs`, else `force_sasl_client_mech`. */
  forceMechs?: string | null;
  /** 'builtin' never uses libsasl2 (tests); default: libsasl2 when installed. */
  sasl?: 'auto' | 'builtin';
  /** Stock's syslog lines about authentication. */
  authLog?: AuthLog;
  tryImap: boolean;
  requireTls: boolean;
  tls: tls.ConnectionOptions;
  compress: boolean;
  /** zlib level for our direction (0-9); the replica inflates whatever we choose. */
  compressLevel?: number;
  /** client_timeout: TCP connect plus the greeting/auth phase. */
  connectTimeoutMs: number;
  /** sync_timeout: inactivity on reads while commands are pending. */
  inactivityMs: number;
  /** Protocol trace (-v -v); credentials are already redacted. */
  trace?: (direction: '>' | '<', line: string) => void;
}

interface Pending {
  tag: string | null;
  verb: Verb;
  /** The command's DLIST name (MESSAGE, MAILBOX, USER…), as stock names it in its logs. */
  command: string;
  items: Keyed[];
  resolve: (r: Reply) => void;
  reject: (e: SyncProtocolError) => void;
}

const IMAP_VERBS: Record<Verb, string> = { GET: 'SYNCGET', APPLY: 'SYNCAPPLY', RESTART: 'SYNCRESTART', NOOP: 'NOOP', EXIT: 'LOGOUT' };
let imapTagCounter = 0; // process-wide, as Cyrus: tags are never reused across reconnects

export class SyncConnection {
  private readonly parser = new ResponseParser();
  private readonly pending: Pending[] = [];
  private writeChain: Promise<void> = Promise.resolve();
  private dead: SyncProtocolError | null = null;
  private readonly sink: Writable;
  /** Commands sent / replies received, for metrics and tests. */
  readonly counters = { commands: 0, replies: 0, flights: 0 };
  /** Told of every NO or BAD final reply (stock logs each one, sync_parse_response). */
  onRejected?: (command: string, status: string, text: string) => void;

  private constructor(
    private readonly channel: ByteChannel,
    readonly session: HandshakeResult,
    private readonly trace?: (direction: '>' | '<', line: string) => void,
  ) {
    this.sink = new Writable({
      write: (chunk: Buffer, _enc, cb) => {
        channel.writeAsync(chunk).then(() => cb(), cb);
      },
    });
    this.sink.on('error', (err) => this.kill(new SyncProtocolError('IMAP_AGAIN', `write failed: ${err.message}`)));
    channel.setReceiver((chunk) => this.onData(chunk));
    channel.onClose((err) => {
      if (!this.dead && err.reason === 'closed') this.peerClosed = true;
      this.failAll(new SyncProtocolError('IMAP_AGAIN', err.message));
    });
  }

  static async connect(o: ConnectOptions): Promise<SyncConnection> {
    let channel: ByteChannel;
    try {
      channel = await ByteChannel.connect(o.host, o.port, { connectTimeoutMs: o.connectTimeoutMs, inactivityMs: 0 });
    } catch (err) {
      throw new SyncProtocolError('IMAP_AGAIN', `connect to ${o.host}:${o.port}: ${(err as Error).message}`);
    }
    try {
      const session = await handshake(channel, {
        authname: o.authname, password: o.password, realm: o.realm, host: o.host, forceMechs: o.forceMechs, sasl: o.sasl, log: o.authLog,
        tryImap: o.tryImap, requireTls: o.requireTls,
        tls: o.tls, compress: o.compress, compressLevel: o.compressLevel, timeoutMs: o.connectTimeoutMs, trace: o.trace,
      });
      const connection = new SyncConnection(channel, session, o.trace);
      connection.inactivityMs = o.inactivityMs;
      return connection;
    } catch (err) {
      channel.close();
      if (err instanceof SyncProtocolError) throw err;
      throw new SyncProtocolError('IMAP_AGAIN', (err as Error).message);
    }
  }

  private inactivityMs = 0;
  private inactivityTimer: NodeJS.Timeout | null = null;

  /** Sends one command; resolves on OK, rejects with the replica's code otherwise. */
  send(verb: Verb, item?: Keyed): Promise<Reply> {
    if (this.dead) return Promise.reject(this.dead);
    const imap = this.session.transport === 'imap';
    const tag = imap ? `S${imapTagCounter++}` : null;
    const chunks = printCommand(imap ? IMAP_VERBS[verb] : verb, item ?? null, { tag: tag ?? undefined });
    const reply = new Promise<Reply>((resolve, reject) => {
      this.pending.push({ tag, verb, command: item?.name ?? verb, items: [], resolve, reject });
    });
    if (this.pending.length === 1) this.counters.flights++;
    this.counters.commands++;
    this.armInactivity();
    this.writeChain = this.writeChain.then(() => this.write(chunks)).catch((err: unknown) => {
      this.kill(new SyncProtocolError('IMAP_AGAIN', `write failed: ${(err as Error).message}`));
    });
    return reply;
  }

  /**
   * Every byte goes through the one sink, in command order: a command held
   * in memory must never overtake the buffered tail of a streamed one
   * before it (that desynchronised csync, which has no tags to notice).
   */
  private async write(chunks: OutChunk[]): Promise<void> {
    if (this.dead) return;
    if (this.trace) this.traceOut(chunks);
    if (chunks.every((c) => Buffer.isBuffer(c))) {
      for (const c of chunks) this.sink.write(c);
      return;
    }
    await writeChunks(this.sink, chunks);
  }

  private traceOut(chunks: OutChunk[]): void {
    const text = chunks.map((c) => (Buffer.isBuffer(c) ? c.toString('latin1') : `<${c.size} bytes from ${c.guid}>`)).join('');
    for (const line of text.split('\r\n')) if (line) this.trace!('>', line.length > 2000 ? `${line.slice(0, 2000)}…` : line);
  }

  private onData(chunk: Buffer): void {
    this.armInactivity();
    for (const event of this.parser.feed(chunk)) {
      if (event.kind === 'error') {
        this.kill(new SyncProtocolError('IMAP_PROTOCOL_ERROR', `unparseable response: ${event.error.message}`));
        return;
      }
      const head = this.pending[0];
      if (event.kind === 'item') {
        this.trace?.('<', `* ${event.item.name} …`);
        if (head) head.items.push(event.item);
        continue;
      }
      if (event.kind === 'untagged') {
        this.trace?.('<', `* ${event.word} ${event.text ?? ''}`);
        if (event.word === 'BYE') {
          if (head?.verb === 'EXIT') this.settle(head, event.text ?? '', null);
          this.kill(new SyncProtocolError('IMAP_BYE_LOGOUT', `replica said BYE: ${event.text ?? ''}`));
          return;
        }
        else if (/^Fatal/i.test(event.word)) this.kill(new SyncProtocolError('IMAP_PROTOCOL_ERROR', `replica: ${event.word} ${event.text ?? ''}`));
        continue;
      }
      if (event.kind !== 'status') continue;
      this.trace?.('<', `${event.tag ? `${event.tag} ` : ''}${event.status} ${event.text ?? ''}`);
      if (event.status === 'BYE' && !event.tag) {
        if (head?.verb === 'EXIT') this.settle(head, event.text ?? '', null);
        this.kill(new SyncProtocolError('IMAP_BYE_LOGOUT', `replica said BYE: ${event.text ?? ''}`));
        return;
      }
      if (!head) {
        this.kill(new SyncProtocolError('IMAP_PROTOCOL_ERROR', `unexpected reply with nothing pending: ${event.status} ${event.text ?? ''}`));
        return;
      }
      if (head.tag !== null && event.tag !== head.tag) {
        this.kill(new SyncProtocolError('IMAP_PROTOCOL_ERROR', `reply tag ${event.tag} does not match ${head.tag}`));
        return;
      }
      const code: SyncErrorCode | null =
        event.status === 'OK' ? null : event.status === 'NO' ? noCode(event.code, event.text) : 'IMAP_PROTOCOL_ERROR';
      if (code) this.onRejected?.(head.command, event.status, event.text ?? '');
      this.settle(head, event.text ?? '', code);
    }
  }

  private settle(head: Pending, text: string, code: SyncErrorCode | null): void {
    this.pending.shift();
    this.counters.replies++;
    if (this.pending.length === 0) this.disarmInactivity();
    if (code) head.reject(new SyncProtocolError(code, `${head.verb} ${text}`.trim()));
    else head.resolve({ items: head.items, text });
  }

  private armInactivity(): void {
    if (this.inactivityMs <= 0 || this.pending.length === 0) return;
    if (this.inactivityTimer) this.inactivityTimer.refresh();
    else this.inactivityTimer = setTimeout(() => {
      this.kill(new SyncProtocolError('IMAP_AGAIN', `no reply from the replica within ${this.inactivityMs} ms (sync_timeout)`));
    }, this.inactivityMs);
  }

  private disarmInactivity(): void {
    if (this.inactivityTimer) clearTimeout(this.inactivityTimer);
    this.inactivityTimer = null;
  }

  private failAll(err: SyncProtocolError): void {
    if (!this.dead) this.dead = err;
    this.disarmInactivity();
    for (const p of this.pending.splice(0)) p.reject(err);
  }

  private kill(err: SyncProtocolError): void {
    this.failAll(err);
    this.channel.close();
  }

  private peerClosed = false;

  /** True once the replica closed the connection while it was healthy (not we, not a timeout). */
  get closedByReplica(): boolean {
    return this.peerClosed;
  }

  /** The reason the connection is unusable, or null while it is healthy. */
  get failure(): SyncProtocolError | null {
    return this.dead;
  }

  get inFlight(): number {
    return this.pending.length;
  }

  /** Sends EXIT (LOGOUT in IMAP mode) and closes, ignoring failures. */
  async close(): Promise<void> {
    if (!this.dead) {
      try {
        await Promise.race([this.send('EXIT'), new Promise((r) => setTimeout(r, 2000))]);
      } catch {
        // closing anyway
      }
    }
    this.kill(new SyncProtocolError('IMAP_AGAIN', 'connection closed by us'));
  }
}
