/**
 * LMTP delivery for the harness: one persistent connection, one transaction
 * per message (as a real MTA delivers), dot-stuffing done here.
 */
import net from 'node:net';

export class LmtpClient {
  private buffer = '';
  private waiters: Array<() => void> = [];
  private closed: Error | null = null;

  private constructor(private readonly socket: net.Socket) {
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      this.buffer += chunk;
      this.wake();
    });
    socket.on('close', () => {
      this.closed ??= new Error('LMTP connection closed');
      this.wake();
    });
    socket.on('error', (err) => {
      this.closed = err;
      this.wake();
    });
  }

  static async connect(port: number, host = '127.0.0.1'): Promise<LmtpClient> {
    const socket = net.connect(port, host);
    socket.setNoDelay(true);
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    const client = new LmtpClient(socket);
    await client.reply(220);
    await client.send('LHLO syncmux-harness', 250);
    return client;
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  /** Reads one (possibly multi-line) reply and checks its code. */
  private async reply(expected: number): Promise<string> {
    for (;;) {
      const lines = this.buffer.split('\r\n');
      for (let i = 0; i < lines.length - 1; i++) {
        if (/^\d{3} /.test(lines[i]!)) {
          const text = lines.slice(0, i + 1).join('\n');
          this.buffer = lines.slice(i + 1).join('\r\n');
          const code = Number(lines[i]!.slice(0, 3));
          if (code !== expected) throw new Error(`LMTP: expected ${expected}, got: ${text}`);
          return text;
        }
      }
      if (this.closed) throw this.closed;
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }

  private async send(line: string, expected: number): Promise<string> {
    this.socket.write(`${line}\r\n`);
    return this.reply(expected);
  }

  /** Delivers one message to one recipient (a userid, or userid+folder). */
  async deliver(recipient: string, message: Buffer | string, from = 'harness@localhost'): Promise<void> {
    await this.send(`MAIL FROM:<${from}>`, 250);
    await this.send(`RCPT TO:<${recipient}>`, 250);
    await this.send('DATA', 354);
    const text = (typeof message === 'string' ? message : message.toString('latin1')).replace(/\r?\n/g, '\r\n');
    const stuffed = text.replace(/^\./gm, '..');
    this.socket.write(stuffed.endsWith('\r\n') ? stuffed : `${stuffed}\r\n`);
    this.socket.write('.\r\n');
    await this.reply(250);
  }

  async close(): Promise<void> {
    try {
      await this.send('QUIT', 221);
    } catch {
      // already closed
    }
    this.socket.destroy();
  }
}

/** A plausible RFC 5322 message of roughly `size` bytes. */
export function makeMessage(user: string, index: number, size = 800, tag = 'syncmux'): string {
  const header = [
    `From: Sender ${index} <sender${index}@example.net>`,
    `To: ${user}@localhost`,
    `Subject: ${tag} message ${index} for ${user}`,
    `Date: ${new Date(Date.UTC(2026, 0, 1, 0, 0, index % 86400)).toUTCString().replace('GMT', '+0000')}`,
    `Message-ID: <${tag}-${user}-${index}-${Math.random().toString(36).slice(2)}@example.net>`,
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=us-ascii',
    '',
  ].join('\r\n');
  const line = `Body line for ${user} #${index}: the quick brown fox jumps over the lazy dog.\r\n`;
  let body = '';
  while (header.length + body.length < size) body += line;
  return `${header}\r\n${body}`;
}
