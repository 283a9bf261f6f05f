/**
 * Connection setup with a Cyrus replica, up to the first replication command:
 * read the greeting, pick the transport (csync banner or IMAP with
 * X-REPLICATION), STARTTLS, SASL PLAIN/LOGIN, and COMPRESS DEFLATE (csync
 * only, and never over TLS, as sync_server 3.6.1 offers it).
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
import { ByteChannel, ChannelClosedError, LineTooLongError } from './byte-channel.js';
import { printable, replicaFault, SyncProtocolError } from './errors.js';
import type { Secret } from '../cyrus/secret.js';

export type Transport = 'csync' | 'imap';

export interface HandshakeOptions {
  authname: string;
  password: Secret;
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
  let caps = await readCsyncBanner(channel, o, first);
  const mech = (c: Set<string>) => (c.has('AUTH=PLAIN') ? 'PLAIN' : c.has('AUTH=LOGIN') ? 'LOGIN' : null);
  if (!channel.encrypted && (o.requireTls || !mech(caps)) && caps.has('STARTTLS')) {
    send(channel, o, 'STARTTLS');
    expectOk(await readLine(channel, o), 'STARTTLS');
    await startTls(channel, o);
    caps = await readCsyncBanner(channel, o);
  }
  requireTlsIfConfigured(channel, o);
  const chosen = mech(caps);
  if (!chosen) throw new SyncProtocolError('IMAP_SASL_FAIL', `the replica offers no usable SASL mechanism (PLAIN or LOGIN); offered: ${[...caps].join(' ')}`);
  if (chosen === 'PLAIN') {
    send(channel, o, `AUTHENTICATE PLAIN ${plainToken(o)}`, 'AUTHENTICATE PLAIN <redacted>');
  } else {
    send(channel, o, 'AUTHENTICATE LOGIN');
    await answerLoginChallenges(channel, o);
  }
  const authReply = await readAuthReply(channel, o);
  if (!authReply.startsWith('OK')) throw authFailure(authReply);
  let compressed = false;
  if (o.compress && caps.has('COMPRESS=DEFLATE') && !channel.encrypted) {
    send(channel, o, 'COMPRESS DEFLATE');
    const reply = await readLine(channel, o);
    if (reply.startsWith('OK')) {
      channel.startCompression(o.compressLevel);
      compressed = true;
    }
  }
  return { transport: 'csync', capabilities: caps, compressed, encrypted: channel.encrypted };
}

async function imapHandshake(channel: ByteChannel, o: Run, greeting: string): Promise<HandshakeResult> {
  let caps = parseImapCaps(greeting);
  if (caps.size === 0) caps = await imapCapability(channel, o);
  const hasMech = (c: Set<string>) => c.has('AUTH=PLAIN') || !c.has('LOGINDISABLED');
  if (!channel.encrypted && (o.requireTls || !hasMech(caps)) && caps.has('STARTTLS')) {
    send(channel, o, 'S01 STARTTLS');
    expectTagged(await readTagged(channel, o, 'S01'), 'STARTTLS');
    await startTls(channel, o);
    caps = await imapCapability(channel, o);
  }
  requireTlsIfConfigured(channel, o);
  let reply: string;
  if (caps.has('AUTH=PLAIN')) {
    if (caps.has('SASL-IR')) {
      send(channel, o, `A01 AUTHENTICATE PLAIN ${plainToken(o)}`, 'A01 AUTHENTICATE PLAIN <redacted>');
    } else {
      send(channel, o, 'A01 AUTHENTICATE PLAIN');
      const cont = await readLine(channel, o);
      if (!cont.startsWith('+')) throw authFailure(cont);
      send(channel, o, plainToken(o), '<redacted>');
    }
    reply = await readTagged(channel, o, 'A01');
  } else if (!caps.has('LOGINDISABLED')) {
    send(channel, o, `A01 LOGIN ${imapQuote(o.authname)} ${imapQuote(o.password.reveal())}`, `A01 LOGIN ${imapQuote(o.authname)} <redacted>`);
    reply = await readTagged(channel, o, 'A01');
  } else {
    throw new SyncProtocolError('IMAP_SASL_FAIL', 'the replica IMAP server allows neither AUTH=PLAIN nor LOGIN');
  }
  if (!/^A01 OK/i.test(reply)) throw authFailure(reply.replace(/^A01 /, ''));
  const after = parseImapCaps(reply);
  caps = after.size ? after : await imapCapability(channel, o);
  if (!caps.has('X-REPLICATION')) {
    throw new SyncProtocolError('IMAP_REMOTE_DENIED', 'the replica IMAP server does not offer X-REPLICATION to this user (is it a replica admin?)');
  }
  return { transport: 'imap', capabilities: caps, compressed: false, encrypted: channel.encrypted };
}

function plainToken(o: Run): string {
  // Empty authzid, as Cyrus sends it: the replica uses the authcid.
  return Buffer.from(`\0${o.authname}\0${o.password.reveal()}`, 'utf8').toString('base64');
}

async function answerLoginChallenges(channel: ByteChannel, o: Run): Promise<void> {
  for (const answer of [o.authname, o.password.reveal()]) {
    const line = await readLine(channel, o);
    if (!line.startsWith('+')) throw authFailure(line);
    send(channel, o, Buffer.from(answer, 'utf8').toString('base64'), '<redacted>');
  }
}

async function readAuthReply(channel: ByteChannel, o: Run): Promise<string> {
  for (;;) {
    const line = await readLine(channel, o);
    if (!line.startsWith('+')) return line;
    send(channel, o, '*'); // an unexpected challenge: cancel rather than guess
  }
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

/** A NO or BAD is a refusal of our credentials; anything else is a broken replica, retried. */
function authFailure(reply: string): SyncProtocolError {
  if (!/^(\S+ )?(NO|BAD)\b/i.test(reply)) return replicaFault('garbage', `unexpected reply to authentication: ${printable(reply)}`);
  return new SyncProtocolError('IMAP_SASL_FAIL', `authentication failed: ${printable(reply)}`);
}

function imapQuote(s: string): string {
  return `"${s.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}
