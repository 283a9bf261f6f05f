/**
 * The SASL exchange of the handshake, as stock's backend_authenticate and
 * saslclient() (imap/backend.c, imap/saslclient.c @3.6.1) run it, for both
 * transports:
 *
 *  - the mechanisms are the replica's (csync `* SASL …`, IMAP `AUTH=…`),
 *    narrowed to `<shorthost>_mechs` or else `force_sasl_client_mech` when
 *    set (their order, case-insensitive; none left: syslog INFO
 *    `<host> did not offer <list>`);
 *  - libsasl2 (src/native SaslClient) picks the strongest it can use and
 *    runs each step on the libuv pool; without libsasl2 installed, a
 *    built-in PLAIN/LOGIN client stands in;
 *  - no usable mechanism and STARTTLS on offer: TLS, then try again with the
 *    new list (TLS's strength and the replica certificate's CN go to
 *    libsasl2 as the external SSF and auth id, which is what makes EXTERNAL
 *    usable);
 *  - failure: syslog LOG_ERR `couldn't authenticate to backend server: <sasl_errstring>`,
 *    as stock, and IMAP_SASL_FAIL;
 *  - success with a security layer: the layer goes under the channel at
 *    once (the replica switches right after its OK).
 *
 * What we send during the exchange is traced as `<redacted>`: it carries
 * the password or something derived from it.
 */
import { SaslClient, SASL_CONTINUE, SASL_NOMECH, SASL_OK, saslUnavailableReason, type SaslStep } from '../native/index.js';
import type { ByteChannel } from './byte-channel.js';
import { printable, replicaFault, SyncProtocolError } from './errors.js';
import type { HandshakeOptions } from './handshake.js';

/** How one transport frames AUTHENTICATE and its replies. */
export interface AuthWire {
  transport: 'csync' | 'imap';
  /** `AUTHENTICATE` (csync) or `A01 AUTHENTICATE` (IMAP). */
  command: string;
  /** The first response may ride on the command (csync always; IMAP with SASL-IR). */
  initialResponse: boolean;
  isOk(line: string): boolean;
  isNo(line: string): boolean;
  /** The replica's text after OK/NO. */
  status(line: string): string;
  /** The next line from the replica, within the handshake's time and size bounds (traced). */
  readLine(): Promise<string>;
  /** Lines to skip while waiting (IMAP untagged responses). */
  untagged?(line: string): boolean;
  /** IMAP's LOGIN command, the built-in client's last resort when no AUTH= mechanism fits. */
  login?(): Promise<string>;
}

export interface AuthResult {
  mech: string;
  ssf: number;
  /** The replica's final OK line. */
  line: string;
}

interface Client {
  start(mechlist: string): Promise<SaslStep>;
  step(challenge: Buffer): Promise<SaslStep>;
  readonly ssf: number;
  dispose(): void;
}

const SASL_BADAUTH = -13;
const SASL_BADPROT = -5;
const ERRSTRING: Record<number, string> = {
  [SASL_NOMECH]: 'no mechanism available',
  [SASL_BADAUTH]: 'authentication failure',
  [SASL_BADPROT]: 'bad protocol / cancel',
  [-1]: 'generic failure',
};

export async function authenticate(
  channel: ByteChannel,
  o: HandshakeOptions,
  wire: AuthWire,
  state: { caps: Set<string> },
  starttls: () => Promise<void>,
): Promise<AuthResult> {
  const useLibsasl = o.sasl !== 'builtin' && saslUnavailableReason() === null;
  for (;;) {
    const offered = [...state.caps].filter((c) => c.startsWith('AUTH=')).map((c) => c.slice(5));
    let mechs = offered;
    if (o.forceMechs) {
      mechs = intersectMechs(o.forceMechs, offered);
      if (mechs.length === 0) o.log?.('info', `${o.host ?? ''} did not offer ${o.forceMechs}`);
    }
    let outcome: Outcome;
    if (mechs.length > 0) {
      outcome = await exchange(channel, o, wire, mechs, useLibsasl ? libsaslClient(channel, o, wire) : new BuiltinClient(o));
    } else if (!useLibsasl && wire.login && !o.forceMechs && !state.caps.has('LOGINDISABLED')) {
      outcome = await loginCommand(wire);
    } else {
      outcome = { ok: false, code: SASL_NOMECH, errstring: ERRSTRING[SASL_NOMECH]!, status: null };
    }
    if (!outcome.ok && outcome.code === SASL_NOMECH && !channel.encrypted && state.caps.has('STARTTLS')) {
      await starttls();
      continue;
    }
    if (!outcome.ok) {
      o.log?.('err', `couldn't authenticate to backend server: ${outcome.errstring}`);
      const detail = outcome.detail ? ` (${outcome.detail.slice(0, 300)})` : '';
      const why = outcome.status ? `; the replica said: ${outcome.status.slice(0, 200)}` : '';
      const offer = outcome.code === SASL_NOMECH ? ` (offered: ${offered.join(' ') || 'none'}${o.forceMechs ? `; allowed: ${o.forceMechs}` : ''}${useLibsasl ? '' : '; without libsasl2 only PLAIN and LOGIN'})` : '';
      const code = TRANSIENT.has(outcome.code) ? 'IMAP_AGAIN' : 'IMAP_SASL_FAIL';
      throw new SyncProtocolError(code, `couldn't authenticate to backend server: ${outcome.errstring}${detail}${offer}${why}`);
    }
    return { mech: outcome.mech, ssf: outcome.ssf, line: outcome.line };
  }
}

/** Stock's intersect_mechlists(): the configured mechanisms the replica offers, in configured order. */
export function intersectMechs(config: string, offered: string[]): string[] {
  const server = new Set(offered.map((m) => m.toUpperCase()));
  const out: string[] = [];
  for (const m of config.split(/[^A-Za-z0-9_-]+/)) if (m && server.has(m.toUpperCase()) && !out.includes(m.toUpperCase())) out.push(m.toUpperCase());
  return out;
}

type Outcome =
  | { ok: true; mech: string; ssf: number; line: string }
  | { ok: false; code: number; errstring: string; status: string | null; detail?: string };

function libsaslClient(channel: ByteChannel, o: HandshakeOptions, wire: AuthWire): Client {
  const tls = channel.tlsState;
  const ends = channel.endpoints;
  return new SaslClient({
    service: wire.transport === 'imap' ? 'imap' : 'csync',
    serverFqdn: o.host || ends.remote.split(';')[0]!,
    localIpPort: ends.local,
    remoteIpPort: ends.remote,
    // As stock's mysasl_callbacks(): an unset option is no callback at all.
    authname: o.authname || null,
    realm: o.realm || null,
    password: o.password.reveal() ? o.password : null,
    successData: wire.transport === 'imap',
    minSsf: 0,
    maxSsf: 255,
    maxBufSize: 4096, // stock's PROT_BUFSIZE
    externalSsf: tls?.ssf ?? 0,
    externalAuthId: tls?.peerCn ?? null,
  });
}

async function exchange(channel: ByteChannel, o: HandshakeOptions, wire: AuthWire, mechs: string[], client: Client): Promise<Outcome> {
  let handedOver = false;
  try {
    const first = await client.start(mechs.join(' '));
    if (first.code !== SASL_OK && first.code !== SASL_CONTINUE) return failed(first, null);
    const mech = first.mech!;
    let delayed: Buffer | null = null;
    if (first.output && wire.initialResponse) {
      send(channel, o, `${wire.command} ${mech} ${first.output.length ? first.output.toString('base64') : '='}`, `${wire.command} ${mech} <redacted>`);
    } else {
      delayed = first.output;
      send(channel, o, `${wire.command} ${mech}`);
    }
    let failure: SaslStep | null = null;
    for (;;) {
      const line = await wire.readLine();
      if (wire.untagged?.(line)) continue;
      if (wire.isOk(line)) {
        if (failure) return failed(failure, wire.status(line));
        const ssf = client.ssf;
        if (ssf > 0 && client instanceof SaslClient) {
          channel.startSecurityLayer(client);
          handedOver = true;
        }
        return { ok: true, mech, ssf, line };
      }
      if (wire.isNo(line)) {
        return failure ? failed(failure, wire.status(line)) : { ok: false, code: SASL_BADAUTH, errstring: ERRSTRING[SASL_BADAUTH]!, status: wire.status(line) };
      }
      // Neither OK, NO nor a challenge: a broken replica, not a refusal; the caller reconnects.
      if (!line.startsWith('+')) throw replicaFault('garbage', `unexpected reply to authentication: ${printable(line)}`);
      const challenge = Buffer.from(line.slice(1).trim(), 'base64');
      if (delayed && challenge.length === 0) {
        // The initial response could not ride on the command: it answers the empty challenge.
        send(channel, o, delayed.toString('base64'), '<redacted>');
        delayed = null;
        continue;
      }
      delayed = null;
      if (failure) {
        send(channel, o, '*');
        continue;
      }
      const next = await client.step(challenge);
      if (next.code === SASL_OK || next.code === SASL_CONTINUE) {
        send(channel, o, (next.output ?? Buffer.alloc(0)).toString('base64'), '<redacted>');
      } else {
        failure = next; // cancel; the replica answers NO or BAD
        send(channel, o, '*');
      }
    }
  } finally {
    if (!handedOver) client.dispose();
  }
}

async function loginCommand(wire: AuthWire): Promise<Outcome> {
  const reply = await wire.login!();
  if (wire.isOk(reply)) return { ok: true, mech: 'LOGIN', ssf: 0, line: reply };
  return { ok: false, code: SASL_BADAUTH, errstring: ERRSTRING[SASL_BADAUTH]!, status: wire.status(reply) };
}

function failed(step: SaslStep, status: string | null): Outcome {
  const errstring = step.errstring ?? ERRSTRING[step.code] ?? `SASL error ${step.code}`;
  const detail = step.detail && step.detail !== errstring ? step.detail : undefined;
  return { ok: false, code: step.code, errstring, status, detail };
}

/**
 * Local failures that waiting may cure (a KDC out of reach: GSSAPI gives
 * SASL_FAIL; SASL_TRYAGAIN; SASL_UNAVAIL) are IMAP_AGAIN, retried as every
 * failure is by stock; a refusal (wrong password, no common mechanism, a
 * layer too weak) stays IMAP_SASL_FAIL, which waiting cannot fix.
 */
const TRANSIENT = new Set([-1, -8, -9]);

function send(channel: ByteChannel, o: HandshakeOptions, line: string, traced = line): void {
  o.trace?.('>', traced);
  channel.write(`${line}\r\n`);
}

/**
 * PLAIN and LOGIN without libsasl2: PLAIN with an empty authzid, as
 * libsasl2 (and so stock) sends it; LOGIN answers its two prompts.
 */
class BuiltinClient implements Client {
  private loginAnswers: string[] | null = null;
  readonly ssf = 0;

  constructor(private readonly o: HandshakeOptions) {}

  async start(mechlist: string): Promise<SaslStep> {
    const mechs = mechlist.split(' ');
    if (mechs.includes('PLAIN')) {
      return { code: SASL_OK, mech: 'PLAIN', output: Buffer.from(`\0${this.o.authname}\0${this.o.password.reveal()}`, 'utf8') };
    }
    if (mechs.includes('LOGIN')) {
      this.loginAnswers = [this.o.authname, this.o.password.reveal()];
      return { code: SASL_CONTINUE, mech: 'LOGIN', output: null };
    }
    return { code: SASL_NOMECH, output: null, errstring: ERRSTRING[SASL_NOMECH] };
  }

  async step(): Promise<SaslStep> {
    const answer = this.loginAnswers?.shift();
    if (answer === undefined) return { code: SASL_BADPROT, output: null, errstring: ERRSTRING[SASL_BADPROT] };
    return { code: this.loginAnswers!.length ? SASL_CONTINUE : SASL_OK, output: Buffer.from(answer, 'utf8') };
  }

  dispose(): void {
    this.loginAnswers = null;
  }
}
