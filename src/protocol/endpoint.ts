/**
 * Where and how to connect, resolved from imapd.conf as sync_client 3.6.1
 * does (sync_host/sync_port/… with `<channel>_` overrides, `-S` override,
 * `host:port/tls/noauth`), plus syncmux's TLS settings:
 *   syncmux_require_tls: yes   refuse to authenticate without TLS (recommended)
 *   syncmux_compress_level: N  zlib level of what we send (0-9; default zlib's, as stock)
 *   tls_client_ca_file / tls_client_ca_dir / tls_client_cert / tls_client_key
 * (the last four are Cyrus's own option names; `<shorthost>_client_cert`
 * and `<shorthost>_client_key` win over the last two, as in stock's
 * backend_authenticate).
 * SASL as stock: sync_realm, and `<shorthost>_mechs` or else
 * `force_sasl_client_mech` to restrict the mechanisms (shorthost: the
 * host up to its first dot; neither key is channel-prefixed in Cyrus).
 */
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { channelSetting, syncChannel, type CyrusConfig, parseSwitch, Secret } from '../cyrus/index.js';
import type { ConnectOptions } from './connection.js';
import { SyncmuxError } from '../errors.js';

export class EndpointError extends SyncmuxError {
  /** `no-host`: sync_host is missing (stock exits 70); `config`: a setting cannot be used (78). */
  constructor(message: string, readonly kind: 'no-host' | 'config') {
    super(kind === 'no-host' ? 'SYNCMUX_NO_SYNC_HOST' : 'SYNCMUX_ENDPOINT_CONFIG', message);
  }
}

export interface Endpoint extends ConnectOptions {
  /** The server string as configured (-S or sync_host): the sync lock names it. */
  serverName: string;
  /** sync_reconnect_maxwait, ms. */
  reconnectMaxWaitMs: number;
  /** With sync_try_imap and no port, stock tries imap (143), then csync (2005). */
  fallbackPort: number | null;
}

export function resolveEndpoint(config: CyrusConfig, channel: string | null, serverOverride?: string): Endpoint {
  const sync = syncChannel(config, channel);
  const server = serverOverride ?? sync.host;
  if (!server) throw new EndpointError('sync_host not defined', 'no-host');
  const parsed = parseServer(server);
  const tryImap = sync.tryImap;
  const port = parsed.port ?? sync.port;
  const lookup = (key: string) => channelSetting(config, channel, key);
  const requireTls = parsed.tls || parseSwitch(lookup('syncmux_require_tls') ?? 'no') === true;
  const caFile = lookup('tls_client_ca_file');
  const caDir = lookup('tls_client_ca_dir');
  const ca = caFile ? [fs.readFileSync(caFile)] : caDir ? readCaDir(caDir) : undefined;
  const shorthost = parsed.host.split('.')[0]!;
  const cert = config.raw.get(`${shorthost}_client_cert`) ?? lookup('tls_client_cert');
  const key = config.raw.get(`${shorthost}_client_key`) ?? lookup('tls_client_key');
  const forceMechs = config.raw.get(`${shorthost}_mechs`) ?? config.raw.get('force_sasl_client_mech') ?? null;
  return {
    serverName: server,
    host: parsed.host,
    port: resolvePort(port, tryImap),
    authname: sync.authname ?? '',
    password: sync.password ?? new Secret(''),
    realm: sync.realm,
    forceMechs: forceMechs && forceMechs.trim() ? forceMechs.trim() : null,
    tryImap,
    requireTls,
    tls: {
      servername: /^[\d.]+$|:/.test(parsed.host) ? undefined : parsed.host,
      ca,
      cert: cert ? fs.readFileSync(cert) : undefined,
      key: key ? fs.readFileSync(key) : undefined,
    },
    compress: true,
    compressLevel: compressLevel(lookup('syncmux_compress_level')),
    connectTimeoutMs: config.clientTimeout * 1000,
    replyTimeoutMs: Math.max(3, config.syncTimeout) * 1000,
    reconnectMaxWaitMs: config.syncReconnectMaxwait * 1000,
    fallbackPort: port === null && tryImap ? resolvePort(null, false) : null,
  };
}

/**
 * Stock compresses at zlib's default level (6), and so do we unless told:
 * a lower level trades bandwidth for the client's CPU, which is what limits
 * a burst when the client shares its cores with Cyrus.
 */
function compressLevel(value: string | undefined): number {
  if (value === undefined || value.trim() === '') return zlib.constants.Z_DEFAULT_COMPRESSION;
  const level = Number(value);
  if (!Number.isInteger(level) || level < 0 || level > 9) throw new EndpointError(`syncmux_compress_level must be 0-9, not '${value}'`, 'config');
  return level;
}

/** `host`, `host:port`, `[v6]:port`, with optional `/tls` and `/noauth` suffixes. */
export function parseServer(server: string): { host: string; port: string | null; tls: boolean; noauth: boolean } {
  const [hostPort = '', ...flags] = server.split('/');
  let host = hostPort;
  let port: string | null = null;
  const v6 = /^\[([^\]]+)\](?::(.+))?$/.exec(hostPort);
  if (v6) {
    host = v6[1]!;
    port = v6[2] ?? null;
  } else if (hostPort.includes(':')) {
    const i = hostPort.lastIndexOf(':');
    host = hostPort.slice(0, i);
    port = hostPort.slice(i + 1);
  }
  return { host, port, tls: flags.includes('tls'), noauth: flags.includes('noauth') };
}

/** A number, or a service name from /etc/services; default csync (2005) or imap (143). */
export function resolvePort(port: string | null, tryImap: boolean): number {
  if (port && /^\d+$/.test(port)) return Number(port);
  const service = port ?? (tryImap ? 'imap' : 'csync');
  const known = lookupService(service);
  if (known) return known;
  if (service === 'csync') return 2005;
  if (service === 'imap') return 143;
  throw new EndpointError(`unknown sync_port service '${service}'`, 'config');
}

function lookupService(name: string): number | null {
  try {
    const text = fs.readFileSync('/etc/services', 'utf8');
    const re = new RegExp(`^${name.replace(/[^\w-]/g, '')}\\s+(\\d+)/tcp`, 'm');
    const m = re.exec(text);
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

function readCaDir(dir: string): Buffer[] {
  return fs.readdirSync(dir).filter((f) => /\.(pem|crt)$/.test(f)).map((f) => fs.readFileSync(path.join(dir, f)));
}
