/**
 * Connection setup with a Cyrus replica, up to the first replication command:
 * read the greeting, pick the transport (csync banner or IMAP with
 * X-REPLICATION), STARTTLS, SASL, and COMPRESS DEFLATE (csync only, and never
 * over TLS, as sync_server 3.6.1 offers it).
 *
 * SASL is chosen as stock's backend_authenticate (imap/backend.c) does:
 * the replica's mechanisms, narrowed to `<shorthost>_mechs` or else
 * `force_sasl_client_mech` when set, go to libsasl2 (src/protocol/sasl-auth.ts),
 * which picks the strongest it can use; with none usable and STARTTLS on
 * offer, TLS first and then again. The SASL service is "csync" on a csync
 * port and "imap" on an IMAP one, as stock's protocol_t. A negotiated
 * security layer goes under everything that follows, COMPRESS included.
 * Without libsasl2 installed, PLAIN and LOGIN are spoken here.
 *
 * Unlike stock sync_client, which probes IMAP and waits out a 10 s timeout
 * against a csync port, we tell the two apart from the first greeting line:
 * a csync banner never starts with an IMAP `* OK [CAPABILITY` greeting.
 *
 * Bounds against a broken or hostile replica: the whole handshake, TLS
 * included, must end within client_timeout however slowly bytes come (no
 * greeting, one byte a second), in at most MAX_HANDSHAKE_LINES lines of at
 * most MAX_HANDSHAKE_LINE bytes. Cyrus's greeting, capability and SASL lines are
 * well under 4 KiB and a handshake takes fewer than 20 lines, so neither cap
 * can refuse a real replica. A peer that breaks a bound, or sends a line
 * that is no reply at all, fails with a `fault` (a transient error: the
 * caller reconnects with its backoff); a clear refusal (NO, BAD, no usable
 * mechanism, TLS policy) does not, since waiting cannot cure it.
 */
import type tls from 'node:tls';
import { type ByteChannel, ChannelClosedError, LineTooLongError } from './byte-channel.js';
import { printable, replicaFault, SyncProtocolError } from './errors.js';
import { authenticate, type AuthWire } from './sasl-auth.js';
import type { Secret } from '../cyrus/index.js';

export type Transport = 'csync' | 'imap';

export type AuthLog = (level: 'err' | 'info' | 'notice', message: string) => void;

export interface HandshakeOptions {
  authname: string;
  password: Secret;
  /** sync_realm (the SASL realm callback). */
  realm?: string | null;
  /** The replica's host as configured: libsasl2's serverFQDN (GSSAPI asks for <service>/<host>). */
  host?: string;
  /** `<shorthost>_mechs`, else `force_sasl_client_mech`: only these (in this order) of the replica's mechanisms. */
  forceMechs?: string | null;
  /** 'auto' (default): libsasl2 when installed, else built-in PLAIN/LOGIN. 'builtin': never libsasl2. */
  sasl?: 'auto' | 'builtin';
  /** Stock's syslog lines about authentication (`couldn't authenticate to backend server: …`). */
  log?: AuthLog;
  /** Offer IMAP-embedded replication first (Cyrus sync_try_imap). */
  tryImap: boolean;
  /** Refuse to authenticate unless the channel is TLS-protected. */
  requireTls: boolean;
  /** Options for STARTTLS (servername, ca, …). */
  tls: tls.ConnectionOptions;
  /** Take COMPRESS DEFLATE when offered (stock always does). */
  compress: boolean;
  compressLevel?: number;
  timeoutMs: number;
  trace?: (direction: '>' | '<', line: string) => void;
}

export interface HandshakeResult {
  transport: Transport;
  /** The SASL mechanism used (or LOGIN for the IMAP LOGIN command). */
  mechanism: string;
  /** The SASL security layer's strength; 0 without one. */
  ssf: number;
  capabilities: Set<string>;
  compressed: boolean;
  encrypted: boolean;
}

/** The longest handshake line we read (greeting, capabilities, SASL challenge). */
export const MAX_HANDSHAKE_LINE = 64 * 1024;
/** Lines a handshake may take in all; Cyrus needs fewer than 20. */
export const MAX_HANDSHAKE_LINES = 100;

/** The options plus what is left of the handshake's time and line budget. */
interface Run extends HandshakeOptions {
  readonly deadline: number;
  linesLeft: number;
  greeted: boolean;
}

export async function handshake(channel: ByteChannel, options: HandshakeOptions): Promise<HandshakeResult> {
  const o: Run = { ...options, deadline: Date.now() + options.timeoutMs, linesLeft: MAX_HANDSHAKE_LINES, greeted: false };
  const first = await readLine(channel, o);
  const imapGreeting = /^\* OK \[CAPABILITY /i.test(first) || /^\* OK .*IMAP/i.test(first);
  if (imapGreeting) {
    if (!o.tryImap) throw new SyncProtocolError('IMAP_PROTOCOL_ERROR', 'the sync port answered with an IMAP greeting but sync_try_imap is off');
    return imapHandshake(channel, o, first);
  }
  return csyncHandshake(channel, o, first);
}

async function readLine(channel: ByteChannel, o: Run): Promise<string> {
  if (o.linesLeft-- <= 0) throw replicaFault('limit', `the replica sent more than ${MAX_HANDSHAKE_LINES} lines without completing the handshake`);
  let line: string;
  try {
    line = await channel.readLine(Math.max(0, o.deadline - Date.now()), MAX_HANDSHAKE_LINE);
  } catch (err) {
    throw handshakeReadError(err, o);
  }
  o.greeted = true;
  o.trace?.('<', line.length > 2000 ? `${line.slice(0, 2000)}…` : line);
  return line;
}

function handshakeReadError(err: unknown, o: Run): unknown {
  if (err instanceof LineTooLongError) return replicaFault('limit', `${err.message} during the handshake (no line end)`);
  if (!(err instanceof ChannelClosedError)) return err;
  if (err.reason === 'timeout') {
    const what = o.greeted ? 'did not complete the handshake' : 'sent no greeting';
    return new SyncProtocolError('IMAP_AGAIN', `the replica ${what} within ${o.timeoutMs} ms (client_timeout)`, 'timeout');
  }
  return new SyncProtocolError('IMAP_AGAIN', `${err.message} during the handshake`, 'closed');
}

/** STARTTLS within what is left of the handshake's time. */
async function startTls(channel: ByteChannel, o: Run): Promise<void> {
  try {
    await channel.startTls(o.tls, Math.max(1, o.deadline - Date.now()));
  } catch (err) {
    if (err instanceof ChannelClosedError && err.reason === 'timeout') {
      throw new SyncProtocolError('IMAP_AGAIN', `the replica did not complete the TLS handshake within ${o.timeoutMs} ms (client_timeout)`, 'timeout');
    }
    throw err;
  }
}

function send(channel: ByteChannel, o: Run, line: string, traced = line): void {
  o.trace?.('>', traced);
  channel.write(`${line}\r\n`);
}

async function readCsyncBanner(channel: ByteChannel, o: Run, first?: string): Promise<Set<string>> {
  const caps = new Set<string>();
  let line = first ?? (await readLine(channel, o));
  while (!line.startsWith('* OK')) {
    if (line.startsWith('* BYE')) throw new SyncProtocolError('IMAP_BYE_LOGOUT', `the replica said BYE: ${printable(line.slice(6))}`, 'closed');
    if (!line.startsWith('* ')) throw replicaFault('garbage', `unexpected csync banner line: ${printable(line)}`);
    const words = line.slice(2).trim().split(/\s+/);
    const name = words[0]!.toUpperCase();
    if (name === 'SASL') for (const mech of words.slice(1)) caps.add(`AUTH=${mech.toUpperCase()}`);
    else if (name === 'COMPRESS') caps.add(`COMPRESS=${(words[1] ?? '').toUpperCase()}`);
    else caps.add(name);
    line = await readLine(channel, o);
  }
  return caps;
}

async function csyncHandshake(channel: ByteChannel, o: Run, first: string): Promise<HandshakeResult> {
  const state = { caps: await readCsyncBanner(channel, o, first) };
  const starttls = async () => {
    send(channel, o, 'STARTTLS');
    expectOk(await readLine(channel, o), 'STARTTLS');
    await startTls(channel, o);
    state.caps = await readCsyncBanner(channel, o);
  };
  if (!channel.encrypted && o.requireTls && state.caps.has('STARTTLS')) await starttls();
  requireTlsIfConfigured(channel, o);
  const wire: AuthWire = {
    transport: 'csync', command: 'AUTHENTICATE', initialResponse: true, readLine: () => readLine(channel, o),
    isOk: (l) => l.startsWith('OK'), isNo: (l) => l.startsWith('NO') || l.startsWith('BAD'), status: (l) => l.replace(/^\S+\s?/, ''),
  };
  const auth = await authenticate(channel, o, wire, state, starttls);
  const caps = state.caps;
  let compressed = false;
  if (o.compress && caps.has('COMPRESS=DEFLATE') && !channel.encrypted) {
    send(channel, o, 'COMPRESS DEFLATE');
    const reply = await readLine(channel, o);
    if (reply.startsWith('OK')) {
      channel.startCompression(o.compressLevel);
      compressed = true;
    } else {
      o.log?.('notice', 'Failed to enable compression, continuing uncompressed');
    }
  }
  return { transport: 'csync', capabilities: caps, compressed, encrypted: channel.encrypted, mechanism: auth.mech, ssf: auth.ssf };
}

async function imapHandshake(channel: ByteChannel, o: Run, greeting: string): Promise<HandshakeResult> {
  const state = { caps: parseImapCaps(greeting) };
  if (state.caps.size === 0) state.caps = await imapCapability(channel, o);
  const starttls = async () => {
    send(channel, o, 'S01 STARTTLS');
    expectTagged(await readTagged(channel, o, 'S01'), 'STARTTLS');
    await startTls(channel, o);
    state.caps = await imapCapability(channel, o);
  };
  if (!channel.encrypted && o.requireTls && state.caps.has('STARTTLS')) await starttls();
  requireTlsIfConfigured(channel, o);
  const wire: AuthWire = {
    transport: 'imap', command: 'A01 AUTHENTICATE', initialResponse: state.caps.has('SASL-IR'), readLine: () => readLine(channel, o),
    isOk: (l) => /^A01 OK/i.test(l), isNo: (l) => /^A01 (NO|BAD)/i.test(l), status: (l) => l.replace(/^A01 \S+\s?/, ''),
    untagged: (l) => l.startsWith('* '),
    login: async () => {
      send(channel, o, `A01 LOGIN ${imapQuote(o.authname)} ${imapQuote(o.password.reveal())}`, `A01 LOGIN ${imapQuote(o.authname)} <redacted>`);
      return readTagged(channel, o, 'A01');
    },
  };
  const before = authList(state.caps);
  const auth = await authenticate(channel, o, wire, state, starttls);
  let caps: Set<string>;
  if (auth.ssf > 0) {
    // As stock: with a security layer, ask again (through it) and refuse a changed mechanism list.
    caps = await imapCapability(channel, o);
    const after = authList(caps);
    if (after && before && after !== before) {
      o.log?.('err', 'possible MITM attack:list of available SASL mechanisms changed');
      throw new SyncProtocolError('IMAP_SASL_FAIL', 'possible MITM attack: list of available SASL mechanisms changed');
    }
  } else {
    const after = parseImapCaps(auth.line);
    caps = after.size ? after : await imapCapability(channel, o);
  }
  if (!caps.has('X-REPLICATION')) {
    throw new SyncProtocolError('IMAP_REMOTE_DENIED', 'the replica IMAP server does not offer X-REPLICATION to this user (is it a replica admin?)');
  }
  return { transport: 'imap', capabilities: caps, compressed: false, encrypted: channel.encrypted, mechanism: auth.mech, ssf: auth.ssf };
}

function authList(caps: Set<string>): string | null {
  const mechs = [...caps].filter((c) => c.startsWith('AUTH=')).map((c) => c.slice(5));
  return mechs.length ? mechs.join(' ') : null;
}

function requireTlsIfConfigured(channel: ByteChannel, o: Run): void {
  if (o.requireTls && !channel.encrypted) {
    // Cyrus 3.10.2 and 3.12.1 on offer STARTTLS only when the replica says allowstarttls: yes.
    throw new SyncProtocolError('IMAP_TLS_REQUIRED', 'TLS is required (syncmux_require_tls) but the replica does not offer STARTTLS; refusing to send credentials in plaintext. On the replica, set tls_server_cert and tls_server_key, and (Cyrus 3.10.2, 3.12.1 and later) allowstarttls: yes');
  }
}

async function imapCapability(channel: ByteChannel, o: Run): Promise<Set<string>> {
  send(channel, o, 'C01 CAPABILITY');
  let caps = new Set<string>();
  for (;;) {
    const line = await readLine(channel, o);
    if (/^\* CAPABILITY /i.test(line)) caps = new Set(line.slice(13).trim().split(/\s+/).map((c) => c.toUpperCase()));
    if (line.startsWith('C01 ')) {
      expectTagged(line, 'CAPABILITY');
      return caps;
    }
  }
}

async function readTagged(channel: ByteChannel, o: Run, tag: string): Promise<string> {
  for (;;) {
    const line = await readLine(channel, o);
    if (line.startsWith(`${tag} `)) return line;
  }
}

function parseImapCaps(line: string): Set<string> {
  const m = /\[CAPABILITY ([^\]]*)\]/i.exec(line);
  return new Set(m ? m[1]!.trim().split(/\s+/).map((c) => c.toUpperCase()) : []);
}

function expectOk(line: string, what: string): void {
  if (line.startsWith('OK')) return;
  if (!/^(NO|BAD)\b/i.test(line)) throw replicaFault('garbage', `unexpected reply to ${what}: ${printable(line)}`);
  throw new SyncProtocolError('IMAP_PROTOCOL_ERROR', `${what} refused: ${printable(line)}`);
}

function expectTagged(line: string, what: string): void {
  if (/^\S+ OK/i.test(line)) return;
  if (!/^\S+ (NO|BAD)\b/i.test(line)) throw replicaFault('garbage', `unexpected reply to ${what}: ${printable(line)}`);
  throw new SyncProtocolError('IMAP_PROTOCOL_ERROR', `${what} refused: ${printable(line)}`);
}

function imapQuote(s: string): string {
  return `"${s.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}
