/**
 * Minimal IMAP client for the harness: one command at a time, literals in
 * responses read exactly, AUTHENTICATE PLAIN (optionally as an admin acting
 * for a user), APPEND with a synchronising literal, MULTIAPPEND with
 * non-synchronising ones (bulk fixtures). Test-only: no TLS.
 */
import net from 'node:net';
import { LiteralBytes, type ImapPart, tokenize, type ImapToken } from './imap-tokens.js';

export interface ImapResponse {
  status: 'OK' | 'NO' | 'BAD';
  text: string;
  untagged: ImapToken[][];
}

/** One message of a MULTIAPPEND; `internaldate` in IMAP date-time form ("01-Jan-2026 00:00:00 +0000"). */
export interface AppendMessage {
  body: Buffer;
  flags?: string;
  internaldate?: string;
}

export class ImapError extends Error {
  constructor(readonly command: string, readonly response: ImapResponse) {
    super(`IMAP ${command.split(' ')[0]} failed: ${response.status} ${response.text}`);
  }
}

export class ImapClient {
  private buffer: Buffer = Buffer.alloc(0);
  private waiters: Array<() => void> = [];
  private closed: Error | null = null;
  private tagCounter = 0;

  private constructor(private readonly socket: net.Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.buffer = this.buffer.length ? Buffer.concat([this.buffer, chunk]) : chunk;
      this.wake();
    });
    socket.on('close', () => {
      this.closed ??= new Error('IMAP connection closed');
      this.wake();
    });
    socket.on('error', (err) => {
      this.closed = err;
      this.wake();
    });
  }

  static async connect(port: number, host = '127.0.0.1'): Promise<ImapClient> {
    const socket = net.connect(port, host);
    socket.setNoDelay(true);
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    const client = new ImapClient(socket);
    const greeting = await client.readLine();
    if (!greeting.startsWith('* OK')) throw new Error(`unexpected IMAP greeting: ${greeting}`);
    return client;
  }

  /** Connects and logs in; with `asUser`, the admin authenticates on that user's behalf. */
  static async login(port: number, authname: string, password: string, asUser = ''): Promise<ImapClient> {
    const client = await ImapClient.connect(port);
    const token = Buffer.from(`${asUser}\0${authname}\0${password}`).toString('base64');
    await client.command(`AUTHENTICATE PLAIN ${token}`);
    return client;
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  private async waitForData(): Promise<void> {
    if (this.closed) throw this.closed;
    await new Promise<void>((resolve) => this.waiters.push(resolve));
  }

  private async readLine(): Promise<string> {
    for (;;) {
      const end = this.buffer.indexOf('\r\n');
      if (end >= 0) {
        const line = this.buffer.subarray(0, end).toString('latin1');
        this.buffer = this.buffer.subarray(end + 2);
        return line;
      }
      await this.waitForData();
    }
  }

  private async readBytes(count: number): Promise<Buffer> {
    while (this.buffer.length < count) await this.waitForData();
    const out = Buffer.from(this.buffer.subarray(0, count));
    this.buffer = this.buffer.subarray(count);
    return out;
  }

  /** Reads one logical response line, splicing in any literals. */
  private async readResponse(): Promise<ImapPart[]> {
    const parts: ImapPart[] = [];
    for (;;) {
      const line = await this.readLine();
      parts.push(line);
      const literal = /\{(\d+)\}$/.exec(line);
      if (!literal) return parts;
      parts.push(new LiteralBytes(await this.readBytes(Number(literal[1]))));
    }
  }

  private nextTag(): string {
    return `h${++this.tagCounter}`;
  }

  async command(text: string, check = true): Promise<ImapResponse> {
    const tag = this.nextTag();
    this.socket.write(`${tag} ${text}\r\n`);
    return this.collect(tag, text, check);
  }

  /** APPEND with a synchronising literal, waiting for the continuation. */
  async append(mailbox: string, message: Buffer, flags = '', check = true): Promise<ImapResponse> {
    const tag = this.nextTag();
    const flagPart = flags ? ` (${flags})` : '';
    this.socket.write(`${tag} APPEND ${mailbox}${flagPart} {${message.length}}\r\n`);
    const cont = await this.readLine();
    if (!cont.startsWith('+')) throw new Error(`APPEND refused: ${cont}`);
    this.socket.write(message);
    this.socket.write('\r\n');
    return this.collect(tag, 'APPEND', check);
  }

  /**
   * MULTIAPPEND (RFC 3502) of many messages in one command, with LITERAL+
   * literals so nothing waits for continuations: one round trip and one
   * mailbox lock per batch, far faster than a message at a time.
   */
  async multiAppend(mailbox: string, messages: ReadonlyArray<AppendMessage>, check = true): Promise<ImapResponse> {
    const tag = this.nextTag();
    this.socket.write(`${tag} APPEND ${mailbox}`);
    for (const m of messages) {
      const flagPart = m.flags !== undefined ? ` (${m.flags})` : '';
      const datePart = m.internaldate ? ` "${m.internaldate}"` : '';
      this.socket.write(`${flagPart}${datePart} {${m.body.length}+}\r\n`);
      this.socket.write(m.body);
    }
    this.socket.write('\r\n');
    return this.collect(tag, 'APPEND', check);
  }

  private async collect(tag: string, text: string, check: boolean): Promise<ImapResponse> {
    const untagged: ImapToken[][] = [];
    for (;;) {
      const parts = await this.readResponse();
      const first = parts[0] as string;
      if (first.startsWith(`${tag} `)) {
        const rest = first.slice(tag.length + 1);
        const space = rest.indexOf(' ');
        const status = (space < 0 ? rest : rest.slice(0, space)) as ImapResponse['status'];
        const response = { status, text: space < 0 ? '' : rest.slice(space + 1), untagged };
        if (check && status !== 'OK') throw new ImapError(text, response);
        return response;
      }
      if (first.startsWith('* ')) untagged.push(tokenize([first.slice(2), ...parts.slice(1)]));
    }
  }

  async logout(): Promise<void> {
    try {
      await this.command('LOGOUT', false);
    } catch {
      // the server closes the connection after BYE; either way we're done
    }
    this.socket.destroy();
  }

  close(): void {
    this.socket.destroy();
  }
}
