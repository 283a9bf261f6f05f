/**
 * The typed view of imapd.conf that the master-state reader and the sync
 * client need, with Cyrus 3.6.1's defaults (lib/imapoptions) and lookup rules:
 * - `<ident>_<key>` overrides `<key>` (config_ident, "sync_client" for us);
 * - `{configdirectory}` at the start of a known string option is expanded
 *   (never in overflow keys such as partition-* or channel-prefixed ones);
 * - sync options may be channel-prefixed (`<channel>_sync_host`), resolved by
 *   syncChannel() exactly as sync_get_config/_durationconfig/_switchconfig do.
 * Values Cyrus would reject raise ConfigError, as Cyrus exits EX_CONFIG.
 */
import os from 'node:os';
import path from 'node:path';
import { ConfigError, type RawConfig, readImapdConf, type ReadConfOptions } from './config-file.js';
import { cAtoi, normaliseEnum, parseCInt, parseDuration, parseSwitch, type DurationUnit } from './config-values.js';
import { Secret } from './secret.js';

export { ConfigError, RawConfig } from './config-file.js';

export type DbBackend = 'flat' | 'skiplist' | 'sql' | 'twoskip' | 'zeroskip' | 'quotalegacy';
export type MetaFile = 'header' | 'index' | 'cache' | 'expunge' | 'squat' | 'annotations' | 'lock' | 'dav' | 'archivecache';
export type VirtDomains = 'off' | 'userid' | 'on';

export interface DbConfig {
  readonly backend: DbBackend;
  /** Absolute file for global databases; null for per-user ones (seen, subs, conversations). */
  readonly path: string | null;
}

export interface CyrusConfig {
  readonly file: string;
  readonly raw: RawConfig;
  /** Service name used for `<ident>_<key>` overrides (Cyrus' config_ident). */
  readonly ident: string | null;
  readonly configDirectory: string;
  readonly defaultPartition: string | null;
  /** partition-<name> roots (overflow keys, never {configdirectory}-expanded). */
  readonly partitions: ReadonlyMap<string, string>;
  readonly metaPartitions: ReadonlyMap<string, string>;
  readonly archivePartitions: ReadonlyMap<string, string>;
  readonly archiveEnabled: boolean;
  readonly metapartitionFiles: ReadonlySet<MetaFile>;
  readonly hashImapSpool: boolean;
  readonly fullDirHash: boolean;
  readonly virtDomains: VirtDomains;
  readonly defaultDomain: string | null;
  readonly unixHierarchySep: boolean;
  readonly altNamespace: boolean;
  readonly deletedPrefix: string;
  readonly deleteMode: 'immediate' | 'delayed';
  readonly expungeMode: 'immediate' | 'semidelayed' | 'delayed';
  readonly mailboxLegacyDirs: boolean;
  /** Lock root: mboxname_lockpath or <configdirectory>/lock. */
  readonly lockDirectory: string;
  readonly sieveDir: string;
  readonly sieveFolder: string;
  readonly servername: string;
  readonly conversations: boolean;
  /** jmapsubmissionfolder: a user's top folder of that name never has conversations. */
  readonly jmapSubmissionFolder: string;
  readonly reverseAcls: boolean;
  readonly db: {
    readonly mboxlist: DbConfig;
    readonly annotation: DbConfig;
    readonly quota: DbConfig;
    readonly seenstate: DbConfig;
    readonly subscription: DbConfig;
    readonly conversations: DbConfig;
    readonly syncCache: DbConfig;
  };
  readonly syncLog: boolean;
  /** sync_log_channels split on spaces; `""` (and an unset option) is the unnamed channel, null. */
  readonly syncLogChannels: ReadonlyArray<string | null>;
  readonly syncLogUnsuppressableChannels: ReadonlyArray<string | null>;
  /** Seconds (sync_timeout, default 30m). */
  readonly syncTimeout: number;
  /** Seconds (sync_reconnect_maxwait, default 20m). */
  readonly syncReconnectMaxwait: number;
  readonly syncBatchsize: number;
  readonly syncRightnowChannel: string | null;
  /** Seconds (client_timeout, default 10s). */
  readonly clientTimeout: number;
  /** Raw lookup with the `<ident>_` override, no typing. */
  get(key: string): string | undefined;
}

/** What sync_client reads per channel (null channel = the unnamed one). */
export interface SyncChannelConfig {
  readonly channel: string | null;
  readonly host: string | null;
  readonly port: string | null;
  readonly authname: string | null;
  readonly password: Secret | null;
  readonly realm: string | null;
  readonly tryImap: boolean;
  readonly shutdownFile: string | null;
  /** Seconds; sync_repeat_interval (default 1s). */
  readonly repeatInterval: number;
  readonly cacheDbPath: string | null;
  /** <configdirectory>/sync[/<channel>]/log */
  readonly logFile: string;
  /**
   * syncmux_coalesce_ms (default 10, 0-1000): under load, how long after
   * the line that woke it a pass begins, so that it also carries the lines
   * Cyrus logs with it (a delivery's APPEND and MAILBOX come some ms apart).
   * See Waker.
   */
  readonly coalesceMs: number;
}

export const DEFAULT_COALESCE_MS = 10;

export interface LoadConfigOptions extends ReadConfOptions {
  /** config_ident; default 'sync_client'. Pass null to disable service overrides. */
  ident?: string | null;
  /** servername default (Cyrus: gethostname()). */
  hostname?: string;
}

const DB_BACKENDS: Record<string, readonly DbBackend[]> = {
  mboxlist: ['flat', 'skiplist', 'sql', 'twoskip', 'zeroskip'],
  annotation: ['skiplist', 'twoskip', 'zeroskip'],
  quota: ['flat', 'skiplist', 'sql', 'quotalegacy', 'twoskip', 'zeroskip'],
  seenstate: ['flat', 'skiplist', 'twoskip', 'zeroskip'],
  subscription: ['flat', 'skiplist', 'twoskip', 'zeroskip'],
  conversations: ['skiplist', 'sql', 'twoskip', 'zeroskip'],
  sync_cache: ['skiplist', 'sql', 'twoskip', 'zeroskip'],
};
const META_FILES: readonly MetaFile[] = ['header', 'index', 'cache', 'expunge', 'squat', 'annotations', 'lock', 'dav', 'archivecache'];

/** Typed option access over the raw map, with Cyrus' error texts. */
class Options {
  constructor(
    readonly raw: RawConfig,
    readonly ident: string | null,
  ) {}

  get(key: string): string | undefined {
    if (this.ident) {
      const v = this.raw.get(`${this.ident}_${key}`.toLowerCase());
      if (v !== undefined) return v;
    }
    return this.raw.get(key);
  }

  /** A known STRING option: {configdirectory} expansion applies. */
  str(key: string, dflt: string | null, configDir?: string): string | null {
    const v = this.get(key) ?? dflt;
    if (v !== null && configDir !== undefined && v.slice(0, 17).toLowerCase() === '{configdirectory}') return configDir + v.slice(17);
    return v;
  }

  bool(key: string, dflt: boolean): boolean {
    const v = this.get(key);
    if (v === undefined) return dflt;
    const b = parseSwitch(v);
    if (b === null) throw new ConfigError(`non-switch value for ${key}`);
    return b;
  }

  int(key: string, dflt: number): number {
    const v = this.get(key);
    if (v === undefined) return dflt;
    const n = parseCInt(v);
    if (n === null) throw new ConfigError(`non-integer value for ${key}`);
    return n;
  }

  duration(key: string, dflt: string, unit: DurationUnit): number {
    const v = this.get(key) ?? dflt;
    const n = parseDuration(v, unit);
    if (n === null) throw new ConfigError(`unparsable duration '${v}' for ${key}`);
    return n;
  }

  enumOf<T extends string>(key: string, allowed: readonly T[], dflt: T): T {
    const v = this.get(key);
    if (v === undefined) return dflt;
    const n = normaliseEnum(v);
    if (!(allowed as readonly string[]).includes(n)) throw new ConfigError(`invalid value '${n}' for ${key}`);
    return n as T;
  }

  /** STRINGLIST options are matched verbatim (no on/off normalisation). */
  oneOf<T extends string>(key: string, allowed: readonly T[], dflt: T): T {
    const v = this.get(key);
    if (v === undefined) return dflt;
    if (!(allowed as readonly string[]).includes(v)) throw new ConfigError(`invalid value '${v}' for ${key}`);
    return v as T;
  }

  bitfield<T extends string>(key: string, allowed: readonly T[]): Set<T> {
    const out = new Set<T>();
    for (const word of (this.get(key) ?? '').split(/[\t\n\v\f\r ]+/).filter(Boolean)) {
      if (!(allowed as readonly string[]).includes(word)) throw new ConfigError(`invalid value '${word}' for ${key}`);
      out.add(word as T);
    }
    return out;
  }

  /** Every overflow `<prefix><name>` key, honouring ident overrides. */
  prefixed(prefix: string): Map<string, string> {
    const out = new Map<string, string>();
    const identPrefix = this.ident ? `${this.ident}_${prefix}`.toLowerCase() : null;
    for (const key of this.raw.keys()) {
      if (key.startsWith(prefix)) out.set(key.slice(prefix.length), this.get(key) ?? '');
    }
    if (identPrefix) {
      for (const key of this.raw.keys()) {
        if (key.startsWith(identPrefix)) out.set(key.slice(identPrefix.length), this.raw.get(key) ?? '');
      }
    }
    return out;
  }
}

function splitChannels(text: string | null): Array<string | null> {
  // strarray_split(conf, " ", 0): strtok on spaces only, empties dropped; the first `""` means the unnamed channel.
  const list: Array<string | null> = (text ?? '""').split(' ').filter(Boolean);
  const i = list.indexOf('""');
  if (i >= 0) list[i] = null;
  return list;
}

/** Builds the typed config from an already-parsed raw map. */
export function buildConfig(raw: RawConfig, file: string, options: LoadConfigOptions = {}): CyrusConfig {
  const ident = options.ident === undefined ? 'sync_client' : options.ident;
  const o = new Options(raw, ident);
  const configDirectory = o.str('configdirectory', null);
  if (!configDirectory) throw new ConfigError('configdirectory option not specified in configuration file');
  const str = (key: string, dflt: string | null): string | null => o.str(key, dflt, configDirectory);
  const db = (name: keyof typeof DB_BACKENDS, dflt: DbBackend, defaultPath: string | null): DbConfig => ({
    backend: o.oneOf(`${name}_db`, DB_BACKENDS[name] ?? [], dflt),
    path: str(`${name}_db_path`, defaultPath),
  });

  let defaultPartition = str('defaultpartition', null);
  if (defaultPartition !== null) {
    if (!/^[A-Za-z0-9]+$/.test(defaultPartition)) throw new ConfigError('defaultpartition option contains non-alnum character');
    defaultPartition = defaultPartition.toLowerCase();
  }
  const defaultDomain = str('defaultdomain', 'internal');
  const mboxnameLockpath = str('mboxname_lockpath', null);

  return Object.freeze({
    file,
    raw,
    ident,
    configDirectory,
    defaultPartition,
    partitions: o.prefixed('partition-'),
    metaPartitions: o.prefixed('metapartition-'),
    archivePartitions: o.prefixed('archivepartition-'),
    archiveEnabled: o.bool('archive_enabled', false),
    metapartitionFiles: o.bitfield('metapartition_files', META_FILES),
    hashImapSpool: o.bool('hashimapspool', false),
    fullDirHash: o.bool('fulldirhash', false),
    virtDomains: o.enumOf('virtdomains', ['off', 'userid', 'on'] as const, 'off'),
    defaultDomain,
    unixHierarchySep: o.bool('unixhierarchysep', true),
    altNamespace: o.bool('altnamespace', true),
    deletedPrefix: str('deletedprefix', 'DELETED') ?? 'DELETED',
    deleteMode: o.enumOf('delete_mode', ['immediate', 'delayed'] as const, 'delayed'),
    expungeMode: o.enumOf('expunge_mode', ['immediate', 'semidelayed', 'delayed'] as const, 'delayed'),
    mailboxLegacyDirs: o.bool('mailbox_legacy_dirs', false),
    lockDirectory: mboxnameLockpath ?? `${configDirectory}/lock`,
    sieveDir: str('sievedir', '/usr/sieve') ?? '/usr/sieve',
    sieveFolder: str('sieve_folder', '#sieve') ?? '#sieve',
    servername: str('servername', null) ?? options.hostname ?? os.hostname(),
    conversations: o.bool('conversations', false),
    jmapSubmissionFolder: str('jmapsubmissionfolder', '#jmapsubmission') ?? '#jmapsubmission',
    reverseAcls: o.bool('reverseacls', false),
    db: {
      mboxlist: db('mboxlist', 'twoskip', `${configDirectory}/mailboxes.db`),
      annotation: db('annotation', 'twoskip', `${configDirectory}/annotations.db`),
      quota: db('quota', 'quotalegacy', `${configDirectory}/quotas.db`),
      seenstate: { backend: o.oneOf('seenstate_db', DB_BACKENDS.seenstate ?? [], 'twoskip'), path: null },
      subscription: { backend: o.oneOf('subscription_db', DB_BACKENDS.subscription ?? [], 'flat'), path: null },
      conversations: { backend: o.oneOf('conversations_db', DB_BACKENDS.conversations ?? [], 'skiplist'), path: null },
      syncCache: db('sync_cache', 'twoskip', null),
    },
    syncLog: o.bool('sync_log', false),
    syncLogChannels: splitChannels(str('sync_log_channels', null)),
    syncLogUnsuppressableChannels: splitChannels(str('sync_log_unsuppressable_channels', 'squatter')),
    syncTimeout: o.duration('sync_timeout', '30m', 's'),
    syncReconnectMaxwait: o.duration('sync_reconnect_maxwait', '20m', 's'),
    syncBatchsize: o.int('sync_batchsize', 8192),
    syncRightnowChannel: str('sync_rightnow_channel', null),
    clientTimeout: o.duration('client_timeout', '10s', 's'),
    get: (key: string) => o.get(key),
  });
}

/** Reads and types an imapd.conf file (and its @includes). */
export function loadConfig(file: string, options: LoadConfigOptions = {}): CyrusConfig {
  return buildConfig(readImapdConf(file, options), path.resolve(file), options);
}

/** A syncmux_* setting, raw: `<channel>_<key>` first, as Cyrus's channel-prefixable sync options. */
export function channelSetting(config: CyrusConfig, channel: string | null, key: string): string | undefined {
  return (channel ? config.raw.get(`${channel}_${key}`) : undefined) ?? config.raw.get(key);
}

/**
 * sync_client's per-channel settings. Only these options are channel-prefixable;
 * the prefixed forms are raw overflow strings (no {configdirectory} expansion),
 * and `<channel>_sync_try_imap` goes through atoi() like Cyrus, so `yes` reads as 0.
 */
export function syncChannel(config: CyrusConfig, channel: string | null): SyncChannelConfig {
  const o = new Options(config.raw, config.ident);
  const prefixed = (key: string): string | undefined => (channel ? o.get(`${channel}_${key}`) : undefined);
  const str = (key: string): string | null => prefixed(key) ?? o.str(key, null, config.configDirectory);

  let tryImap = -1;
  const chanTry = prefixed('sync_try_imap');
  if (chanTry !== undefined) tryImap = cAtoi(chanTry);
  if (tryImap === -1) tryImap = o.bool('sync_try_imap', true) ? 1 : 0;

  let repeat: number | null = null;
  const chanRepeat = prefixed('sync_repeat_interval');
  if (chanRepeat !== undefined) repeat = parseDuration(chanRepeat, 's');
  if (repeat === null || repeat === -1) repeat = o.duration('sync_repeat_interval', '1s', 's');

  const coalesce = cAtoi(channelSetting(config, channel, 'syncmux_coalesce_ms') ?? String(DEFAULT_COALESCE_MS));
  const password = str('sync_password');
  return Object.freeze({
    channel,
    host: str('sync_host'),
    port: str('sync_port'),
    authname: str('sync_authname'),
    password: password === null ? null : new Secret(password),
    realm: str('sync_realm'),
    tryImap: tryImap !== 0,
    shutdownFile: str('sync_shutdown_file'),
    repeatInterval: repeat,
    cacheDbPath: str('sync_cache_db_path'),
    logFile: channel ? `${config.configDirectory}/sync/${channel}/log` : `${config.configDirectory}/sync/log`,
    coalesceMs: Math.min(1000, Math.max(0, coalesce)),
  });
}

/** config_partitiondir: root of a spool partition, or null if not configured. */
export function partitionDir(config: CyrusConfig, partition: string): string | null {
  return config.partitions.get(partition) ?? null;
}

/** config_archivepartitiondir: null unless archive_enabled. */
export function archivePartitionDir(config: CyrusConfig, partition: string): string | null {
  if (!config.archiveEnabled) return null;
  return config.archivePartitions.get(partition) ?? null;
}

/** config_metapartitiondir. */
export function metaPartitionDir(config: CyrusConfig, partition: string): string | null {
  return config.metaPartitions.get(partition) ?? null;
}
