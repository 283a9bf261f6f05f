/**
 * The text of a harness instance's imapd.conf and cyrus.conf. Pure: the lab
 * decides paths, ports and the Cyrus build's bin dir; this module only
 * knows what Cyrus 3.6 and 3.10 need.
 */
import { CYRUS_BIN as SYSTEM_CYRUS_BIN } from './install.js';

export interface InstancePaths {
  root: string;
  imapdConf: string;
  cyrusConf: string;
  configDirectory: string;
  spool: string;
  sieveDir: string;
  sasldb: string;
}

export interface InstanceConfig {
  servername: string;
  admins: string[];
  paths: InstancePaths;
  virtdomains: boolean;
  /** Lines appended verbatim (replication settings). */
  extra: string[];
}

export function imapdConf(c: InstanceConfig): string {
  const p = c.paths;
  // Cyrus refuses a key given twice: an extra line replaces the default of that key.
  const keyOf = (line: string): string => line.slice(0, line.indexOf(':')).trim();
  const overridden = new Set(c.extra.filter((l) => l.includes(':')).map(keyOf));
  const base = [
    `# syncmux harness instance ${c.servername}`,
    `servername: ${c.servername}`,
    `syslog_prefix: ${c.servername}`,
    `configdirectory: ${p.configDirectory}`,
    'defaultpartition: default',
    `partition-default: ${p.spool}`,
    `sievedir: ${p.sieveDir}`,
    `lmtpsocket: ${p.configDirectory}/socket/lmtp`,
    `idlesocket: ${p.configDirectory}/socket/idle`,
    `notifysocket: ${p.configDirectory}/socket/notify`,
    `admins: ${c.admins.join(' ')}`,
    // upstream 3.x defaults, spelled out: Debian's /etc/imapd.conf differs
    'altnamespace: yes',
    'unixhierarchysep: yes',
    `virtdomains: ${c.virtdomains ? 'userid' : 'off'}`,
    'delete_mode: delayed',
    'expunge_mode: delayed',
    'lmtp_downcase_rcpt: yes',
    'allowplaintext: yes',
    'sasl_pwcheck_method: auxprop',
    'sasl_auxprop_plugin: sasldb',
    `sasl_sasldb_path: ${p.sasldb}`,
    'sasl_mech_list: PLAIN LOGIN',
  ].filter((l) => l.startsWith('#') || !overridden.has(keyOf(l)));
  return [...base, ...c.extra, ''].join('\n');
}

export interface Listeners {
  imap: number;
  lmtp: number;
  sync?: number;
  /** ManageSieve (timsieved), when the lab was started with `sieve: true`. */
  sieve?: number;
}

/** A cyrus.conf DAEMON entry: cyrmaster runs `cmd` in the foreground, restarts it when it dies, and stops it on shutdown. */
export interface DaemonEntry {
  name: string;
  /** Absolute program path and arguments; `@CONF@` stands for the instance's imapd.conf (cyrmaster does not pass its -C on). */
  cmd: string;
}

export function cyrusConf(imapdConfPath: string, ports: Listeners, o: { /** The Cyrus build's bin dir (default the system's). */ binDir?: string; syncMaxChild?: number; daemons?: readonly DaemonEntry[] } = {}): string {
  // cyrmaster's -C is not inherited by its children, so every cmd carries it.
  const conf = `-C ${imapdConfPath}`;
  const bin = o.binDir ?? SYSTEM_CYRUS_BIN;
  const lines = [
    'START {',
    `  recover cmd="${bin}/ctl_cyrusdb ${conf} -r"`,
    '}',
    'SERVICES {',
    `  imap cmd="${bin}/imapd ${conf}" listen="127.0.0.1:${ports.imap}" prefork=1 maxchild=50`,
    `  lmtp cmd="${bin}/lmtpd ${conf} -a" listen="127.0.0.1:${ports.lmtp}" prefork=1 maxchild=20`,
  ];
  if (ports.sync) {
    lines.push(`  syncserver cmd="${bin}/sync_server ${conf}" listen="127.0.0.1:${ports.sync}" prefork=1 maxchild=${o.syncMaxChild ?? 20}`);
  }
  if (ports.sieve) {
    lines.push(`  sieve cmd="${bin}/timsieved ${conf}" listen="127.0.0.1:${ports.sieve}" prefork=0 maxchild=10`);
  }
  lines.push('}', 'EVENTS {', `  checkpoint cmd="${bin}/ctl_cyrusdb ${conf} -c" period=30`, '}');
  if (o.daemons?.length) lines.push('DAEMON {', ...o.daemons.map((d) => `  ${d.name} cmd="${d.cmd.replaceAll('@CONF@', imapdConfPath)}"`), '}');
  lines.push('');
  return lines.join('\n');
}
