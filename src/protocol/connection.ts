/**
 * One authenticated replication session, pipelined: any number of commands
 * may be in flight; replies are matched in order (csync has no tags, so
 * order is the only key; in IMAP mode the tag is checked as well). The
 * caller decides what to pipeline; this layer guarantees order, framing and
 * that every pending command settles exactly once, with a typed error when
 * the connection dies.
 *
 * Against a broken or hostile replica (each kills the connection with a
 * SyncProtocolError whose `fault` says why, so callers reconnect and retry):
 *   - a reply must be complete within sync_timeout of becoming the one
 *     awaited, however slowly its bytes drip (stock's prot timeout resets on
 *     every byte, so a one-byte-a-second peer would hold it forever);
 *   - what we hold of a reply is capped by REPLICA_LIMITS: a line (the text
 *     of one `* KEY …` item) 64 MiB, one literal 256 MiB (a 2^40 announcement
 *     fails at once, before any byte of it is read), one item 512 MiB, and
 *     all items of one reply 512 MiB and 1 000 000 items. What a 3.6 replica
 *     answers us (GET USER/MAILBOXES/META/QUOTA/ANNOTATION, RESERVE's MISSING
 *     list) is folder state without message records, one short line per
 *     folder or subscription, with literals only for annotation values; so
 *     the caps leave orders of magnitude of room and still bound one
 *     connection to about 512 MiB;
 *   - a line that is no csync/IMAP response (garbage) is a protocol error,
 *     as in stock's sync_parse_response, never skipped.
 */
import { Writable } from 'node:stream';
import {
  ResponseParser,
  printCommand,
  writeChunks,
  type Keyed,
  type OutChunk,
  type DlistError,
  type FrameLimits,
} from '../dlist/index.js';
import { ByteChannel } from './byte-channel.js';
import { noCode, printable, replicaFault, SyncProtocolError, type SyncErrorCode } from './errors.js';
import { handshake, type AuthLog, type HandshakeOptions, type HandshakeResult } from './handshake.js';

export type Verb = 'GET' | 'APPLY' | 'RESTART' | 'NOOP' | 'EXIT';

export interface Reply {
  /** The `* KEY value` items, in order. */
  items: Keyed[];
  /** Text after OK. */
  text: string;
}

/**
 * What a connection needs: the handshake's options (documented there), where
 * to connect, and its timeouts. The handshake's own `timeoutMs` is
 * connectTimeoutMs here, and its `log` is authLog.
 */
export interface ConnectOptions extends Omit<HandshakeOptions, 'timeoutMs' | 'log' | 'host'> {
  host: string;
  port: number;
  /** Stock's syslog lines about authentication. */
  authLog?: AuthLog;
  /** client_timeout: TCP connect plus the greeting/auth phase. */
  connectTimeoutMs: number;
  /** sync_timeout: the longest a reply may take once it is the one awaited. */
  replyTimeoutMs: number;
  /** Told of every NO or BAD final reply on the connection. */
  onRejected?: (command: string, status: string, text: string) => void;
}

interface Pending {
  tag: string | null;
  verb: Verb;
  /** The command's DLIST name (MESSAGE, MAILBOX, USER…), as stock names it in its logs. */
  command: string;
  items: Keyed[];
  /** Bytes received when this reply became the one awaited: its size so far is the difference. */
  startBytes: number;
  resolve: (r: Reply) => void;
  reject: (e: SyncProtocolError) => void;
}

const IMAP_VERBS: Record<Verb, string> = { GET: 'SYNCGET', APPLY: 'SYNCAPPLY', RESTART: 'SYNCRESTART', NOOP: 'NOOP', EXIT: 'LOGOUT' };

/** What we accept from a replica; why these suffice is in the module header. */
export const REPLICA_LIMITS: Required<FrameLimits> = {
  maxLineLength: 64 * 1024 * 1024,
  maxLiteralSize: 256 * 1024 * 1024,
  maxFrameSize: 512 * 1024 * 1024,
  maxLiterals: 100_000,
};
/** All items of one reply together. */
export const MAX_REPLY_BYTES = 512 * 1024 * 1024;
export const MAX_REPLY_ITEMS = 1_000_000;

export class SyncConnection {
  /** IMAP command tags: unique within the connection, which is all IMAP asks. */
  private nextImapTag = 0;
  private readonly parser = new ResponseParser(REPLICA_LIMITS);
  private readonly pending: Pending[] = [];
  private writeChain: Promise<void> = Promise.resolve();
  private dead: SyncProtocolError | null = null;
  private readonly sink: Writable;
  /** Commands sent / replies received, for metrics and tests. */
  readonly counters = { commands: 0, replies: 0, flights: 0 };
  private constructor(
    private readonly channel: ByteChannel,
    readonly session: HandshakeResult,
    private readonly trace?: (direction: '>' | '<', line: string) => void,
    /** Told of every NO or BAD final reply (stock logs each one, sync_parse_response). */
    private readonly onRejected?: (command: string, status: string, text: string) => void,
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
      this.failAll(new SyncProtocolError('IMAP_AGAIN', this.closeMessage(err.message), err.reason === 'timeout' ? 'timeout' : 'closed'));
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
      const connection = new SyncConnection(channel, session, o.trace, o.onRejected);
      connection.replyTimeoutMs = o.replyTimeoutMs;
      return connection;
    } catch (err) {
      channel.close();
      if (err instanceof SyncProtocolError) throw err;
      throw new SyncProtocolError('IMAP_AGAIN', (err as Error).message);
    }
  }

  private replyTimeoutMs = 0;
  /** Plaintext bytes received since the handshake. */
  private receivedBytes = 0;
  private replyTimer: NodeJS.Timeout | null = null;

  /** Sends one command; resolves on OK, rejects with the replica's code otherwise. */
  send(verb: Verb, item?: Keyed): Promise<Reply> {
    if (this.dead) return Promise.reject(this.dead);
    const imap = this.session.transport === 'imap';
    const tag = imap ? `S${this.nextImapTag++}` : null;
    const chunks = printCommand(imap ? IMAP_VERBS[verb] : verb, item ?? null, { tag: tag ?? undefined });
    const reply = new Promise<Reply>((resolve, reject) => {
      this.pending.push({ tag, verb, command: item?.name ?? verb, items: [], startBytes: 0, resolve, reject });
    });
    if (this.pending.length === 1) {
      this.counters.flights++;
      this.armReplyTimer();
    }
    this.counters.commands++;
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
    if (this.dead) return;
    this.receivedBytes += chunk.length;
    const imap = this.session.transport === 'imap';
    for (const event of this.parser.feed(chunk)) {
      if (event.kind === 'error') {
        this.kill(streamFault(event.error, this.parser.buffered));
        return;
      }
      const head = this.pending[0];
      if (event.kind === 'item') {
        this.trace?.('<', `* ${event.item.name} …`);
        if (!head) {
          if (imap) continue; // IMAP allows unsolicited untagged data
          this.kill(replicaFault('garbage', `unexpected item with nothing pending: * ${event.item.name}`));
          return;
        }
        if (!this.collect(head, event.item)) return;
        continue;
      }
      // sync_server sends nothing but items and status lines; an IMAP server may add untagged data of its own.
      const stray = event.kind === 'untagged' && event.parseError !== undefined && !imap && !/^Fatal/i.test(event.word);
      if (event.kind === 'unknown' || event.kind === 'continuation' || stray) {
        this.kill(replicaFault('garbage', `unparseable response line: ${printableLine(event)}`));
        return;
      }
      if (event.kind === 'untagged') {
        this.trace?.('<', `* ${event.word} ${event.text ?? ''}`);
        if (event.word === 'BYE') {
          if (head?.verb === 'EXIT') this.settle(head, event.text ?? '', null);
          this.kill(new SyncProtocolError('IMAP_BYE_LOGOUT', `replica said BYE: ${event.text ?? ''}`));
          return;
        }
        else if (/^Fatal/i.test(event.word)) this.kill(new SyncProtocolError('IMAP_PROTOCOL_ERROR', `replica: ${printable(`${event.word} ${event.text ?? ''}`)}`, 'closed'));
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
        this.kill(replicaFault('garbage', `unexpected reply with nothing pending: ${printable(`${event.status} ${event.text ?? ''}`)}`));
        return;
      }
      if (head.tag !== null && event.tag !== head.tag) {
        this.kill(replicaFault('garbage', `reply tag ${printable(event.tag ?? '')} does not match ${head.tag}`));
        return;
      }
      const code: SyncErrorCode | null =
        event.status === 'OK' ? null : event.status === 'NO' ? noCode(event.code, event.text) : 'IMAP_PROTOCOL_ERROR';
      if (code) this.onRejected?.(head.command, event.status, event.text ?? '');
      this.settle(head, event.text ?? '', code);
    }
  }

  /** Keeps one item of the head's reply, within MAX_REPLY_BYTES/ITEMS; false when that killed the connection. */
  private collect(head: Pending, item: Keyed): boolean {
    // Counted by whole chunks: at most one socket read more than the reply's own bytes.
    if (this.receivedBytes - head.startBytes > MAX_REPLY_BYTES || head.items.length >= MAX_REPLY_ITEMS) {
      this.kill(replicaFault('limit', `the reply to ${head.verb} ${head.command} exceeds ${MAX_REPLY_BYTES} bytes or ${MAX_REPLY_ITEMS} items`));
      return false;
    }
    head.items.push(item);
    return true;
  }

  private settle(head: Pending, text: string, code: SyncErrorCode | null): void {
    this.pending.shift();
    this.counters.replies++;
    this.armReplyTimer();
    if (code) head.reject(new SyncProtocolError(code, `${head.verb} ${text}`.trim()));
    else head.resolve({ items: head.items, text });
  }

  /**
   * Gives the reply now awaited (the oldest pending) sync_timeout to be
   * complete. Bytes arriving do not extend it: only a complete reply does.
   */
  private armReplyTimer(): void {
    this.disarmReplyTimer();
    const head = this.pending[0];
    if (!head) return;
    head.startBytes = this.receivedBytes;
    if (this.replyTimeoutMs <= 0) return;
    this.replyTimer = setTimeout(() => {
      const partial = this.receivedBytes - head.startBytes;
      const got = partial > 0 ? ` (${partial} bytes of it arrived)` : '';
      this.kill(new SyncProtocolError('IMAP_AGAIN', `no complete reply to ${head.verb} ${head.command} within ${this.replyTimeoutMs} ms (sync_timeout)${got}`, 'timeout'));
    }, this.replyTimeoutMs);
  }

  private disarmReplyTimer(): void {
    if (this.replyTimer) clearTimeout(this.replyTimer);
    this.replyTimer = null;
  }

  /** A close in the middle of a reply says where it broke off. */
  private closeMessage(message: string): string {
    const held = this.parser.buffered;
    if (held === 0 || this.pending.length === 0) return message;
    const where = this.parser.awaiting === 'literal' ? 'inside a literal' : 'inside a line';
    return `${message} ${where} of the reply to ${this.pending[0]!.verb} ${this.pending[0]!.command} (${held} bytes of it held)`;
  }

  private failAll(err: SyncProtocolError): void {
    if (!this.dead) this.dead = err;
    this.disarmReplyTimer();
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
      let timer: NodeJS.Timeout | undefined;
      try {
        await Promise.race([this.send('EXIT'), new Promise((r) => (timer = setTimeout(r, 2000)))]);
      } catch {
        // closing anyway
      } finally {
        clearTimeout(timer); // else a closed connection keeps the process alive for up to 2 s
      }
    }
    this.kill(new SyncProtocolError('IMAP_AGAIN', 'connection closed by us'));
  }
}

/** A framing failure: a broken limit, or bytes that cannot be framed. */
function streamFault(error: DlistError, held: number): SyncProtocolError {
  const limit = error.code === 'LINE_TOO_LONG' || error.code === 'LITERAL_TOO_LARGE' || error.code === 'FRAME_TOO_LARGE';
  return replicaFault(limit ? 'limit' : 'garbage', `unusable response from the replica: ${error.message}${held ? ` (${held} bytes held)` : ''}`);
}

function printableLine(event: { kind: string; line?: string; word?: string; text?: string | null }): string {
  return printable(event.line ?? `${event.kind === 'continuation' ? '+' : `* ${event.word ?? ''}`} ${event.text ?? ''}`);
}
