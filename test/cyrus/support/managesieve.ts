/**
 * A tiny ManageSieve (RFC 5804) client for real-master fixtures: the harness
 * runs timsieved when started with `sieve: true`, and in Cyrus 3.6.1 a
 * PUTSCRIPT stores the script as a message in the user's `#sieve` mailbox
 * (IMAP cannot write there), so this is how tests get a sieve mailbox.
 */
import net from 'node:net';

export class ManageSieve {
  private buffer = '';
  private waiters: Array<() => void> = [];
  private closed: Error | null = null;

  private constructor(private readonly socket: net.Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.buffer += chunk.toString('utf8');
      this.wake();
    });
    socket.on('close', () => {
      this.closed ??= new Error('ManageSieve connection closed');
      this.wake();
    });
    socket.on('error', (e) => {
      this.closed = e;
      this.wake();
    });
  }

  /** Connects and authenticates with PLAIN; `asUser` makes `authname` (an admin) act for that user. */
  static async login(port: number, authname: string, password: string, asUser = ''): Promise<ManageSieve> {
    const socket = net.connect(port, '127.0.0.1');
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    const client = new ManageSieve(socket);
    await client.response(); // capability greeting
    const token = Buffer.from(`${asUser}\0${authname}\0${password}`).toString('base64');
    await client.command(`AUTHENTICATE "PLAIN" "${token}"`);
    return client;
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  /** Reads lines up to the final OK/NO/BYE; throws unless OK. */
  private async response(): Promise<string[]> {
    const lines: string[] = [];
    for (;;) {
      const end = this.buffer.indexOf('\r\n');
      if (end < 0) {
        if (this.closed) throw this.closed;
        await new Promise<void>((r) => this.waiters.push(r));
        continue;
      }
      const line = this.buffer.slice(0, end);
      this.buffer = this.buffer.slice(end + 2);
      lines.push(line);
      if (/^(OK|NO|BYE)\b/i.test(line)) {
        if (!/^OK\b/i.test(line)) throw new Error(`ManageSieve: ${lines.join(' | ')}`);
        return lines;
      }
    }
  }

  async command(text: string): Promise<string[]> {
    this.socket.write(`${text}\r\n`);
    return this.response();
  }

  /** PUTSCRIPT with a non-synchronising literal (servers must accept `{n+}`). */
  async putScript(name: string, script: string): Promise<void> {
    const body = Buffer.from(script, 'utf8');
    this.socket.write(`PUTSCRIPT "${name}" {${body.length}+}\r\n`);
    this.socket.write(body);
    await this.command('');
  }

  async setActive(name: string): Promise<void> {
    await this.command(`SETACTIVE "${name}"`);
  }

  async listScripts(): Promise<string[]> {
    return (await this.command('LISTSCRIPTS')).slice(0, -1);
  }

  async logout(): Promise<void> {
    try {
      await this.command('LOGOUT');
    } catch {
      // BYE or a closed socket: done either way
    }
    this.socket.destroy();
  }
}
