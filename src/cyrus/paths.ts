/**
 * Where Cyrus 3.6.1 keeps things on disk (imap/mboxname.c, imap/user.c,
 * lib/cyrusdb_quotalegacy.c), as pure functions of the config:
 * - dir_hash_c and the legacy name-based layout (mboxname_hash);
 * - mailbox data/meta/archive directories in the uuid layout
 *   (`<root>/uuid/<u0>/<u1>/<uniqueid>`) or the legacy one (mbtype `l`),
 *   message files `<dir>/<uid>.`;
 * - per-user files (seen, sub, …) and sieve directories, keyed by the INBOX
 *   entry the caller resolved from mailboxes.db;
 * - quotalegacy files and lock files (mboxname_lockpath: the lock *name* laid
 *   out as if it were a mailbox name).
 * Nothing here touches the filesystem.
 */
import type { CyrusConfig, MetaFile } from './config.js';
import { parseIntName, parseUserId, userIdOf, type MbName } from './names.js';
import { SyncmuxError } from '../errors.js';

export type PathConfig = Pick<
  CyrusConfig,
  | 'configDirectory'
  | 'partitions'
  | 'metaPartitions'
  | 'archivePartitions'
  | 'archiveEnabled'
  | 'metapartitionFiles'
  | 'hashImapSpool'
  | 'fullDirHash'
  | 'virtDomains'
  | 'defaultDomain'
  | 'deletedPrefix'
  | 'lockDirectory'
  | 'sieveDir'
  | 'db'
  | 'get'
>;

/** The mailbox identity paths depend on (an mbentry's fields). */
export interface MailboxLocation {
  readonly name: string;
  readonly uniqueid: string | null;
  readonly partition: string;
  /** mbtype flag `l`: name-based directories. */
  readonly legacyDirs: boolean;
}

/** The user's INBOX entry as far as per-user paths care; null if it has none. */
export interface InboxRef {
  readonly uniqueid: string | null;
  readonly legacyDirs: boolean;
}

export class PathError extends SyncmuxError {
  constructor(message: string, options?: ErrorOptions) {
    super('SYNCMUX_PATH', message, options);
  }
}

/** dir_hash_c: first letter (else `q`), or with fulldirhash a 23-way hash (A–W) of the text up to the first dot. */
export function dirHash(name: string, full: boolean): string {
  if (full) {
    let n = 0;
    for (const b of Buffer.from(name, 'utf8')) {
      if (b === 0x2e) break;
      n = (((n << 3) ^ (n >>> 5)) ^ b) >>> 0;
    }
    return String.fromCharCode(0x41 + (n % 23));
  }
  const c = name.charCodeAt(0);
  const lower = c >= 0x41 && c <= 0x5a ? c + 32 : c;
  return lower >= 0x61 && lower <= 0x7a ? String.fromCharCode(lower) : 'q';
}

const escapeComponent = (s: string): string => s.replace(/\./g, '^');

/** mboxname_hash: legacy (name-based) directory of `intname` under `root`. */
export function legacyMailboxDir(root: string, intname: string, cfg: PathConfig): string {
  const mb = parseIntName(intname, cfg);
  let out = root;
  if (mb.domain) out += cfg.hashImapSpool ? `/domain/${dirHash(mb.domain, cfg.fullDirHash)}/${mb.domain}` : `/domain/${mb.domain}`;
  const boxes = [...mb.boxes];
  if (mb.localpart !== null) boxes.unshift('user', mb.localpart);
  if (mb.isDeleted) {
    boxes.unshift(cfg.deletedPrefix);
    boxes.push(mb.isDeleted.toString(16).toUpperCase());
  }
  if (cfg.hashImapSpool && boxes.length > 0) out += `/${dirHash((boxes.length > 1 ? boxes[1] : boxes[0]) ?? '', cfg.fullDirHash)}`;
  for (const b of boxes) out += `/${escapeComponent(b)}`;
  return out;
}

/** mboxname_id_hash: `[root/]uuid/<id0>/<id1>/<id>`. */
export function uuidDir(root: string | null, id: string): string {
  const rel = `uuid/${id[0] ?? ''}/${id[1] ?? ''}/${id}`;
  return root === null ? rel : `${root}/${rel}`;
}

function partitionRoot(cfg: PathConfig, partition: string): string {
  const root = cfg.partitions.get(partition);
  if (root === undefined) throw new PathError(`unknown partition '${partition}' (no partition-${partition} in imapd.conf)`);
  return root;
}

function layout(root: string, loc: MailboxLocation, cfg: PathConfig): string {
  if (!loc.legacyDirs && loc.uniqueid) return uuidDir(root, loc.uniqueid);
  return legacyMailboxDir(root, loc.name, cfg);
}

/** mboxname_datapath without uid: the spool directory holding `<uid>.` files. */
export function mailboxDataDir(cfg: PathConfig, loc: MailboxLocation): string {
  return layout(partitionRoot(cfg, loc.partition), loc, cfg);
}

/** mboxname_archivepath root: archivepartition-<p> when archive_enabled, else the partition. */
export function mailboxArchiveDir(cfg: PathConfig, loc: MailboxLocation): string {
  const archive = cfg.archiveEnabled ? cfg.archivePartitions.get(loc.partition) : undefined;
  return layout(archive ?? partitionRoot(cfg, loc.partition), loc, cfg);
}

/** A message file: `<dir>/<uid>.`, under the archive root when the record is ARCHIVED. */
export function messageFile(cfg: PathConfig, loc: MailboxLocation, uid: number, archived = false): string {
  return `${archived ? mailboxArchiveDir(cfg, loc) : mailboxDataDir(cfg, loc)}/${uid}.`;
}

const META_NAMES: Partial<Record<MetaFile, string>> = {
  header: 'cyrus.header',
  index: 'cyrus.index',
  cache: 'cyrus.cache',
  expunge: 'cyrus.expunge',
  squat: 'cyrus.squat',
  annotations: 'cyrus.annotations',
  dav: 'cyrus.dav',
  archivecache: 'cyrus.cache',
};

// Which metadir-<key>-<partition> override each file consults; annotations use the index key (a Cyrus quirk).
const META_OVERRIDE: Partial<Record<MetaFile, string>> = {
  header: 'header',
  index: 'index',
  cache: 'cache',
  squat: 'squat',
  annotations: 'index',
  dav: 'dav',
  archivecache: 'archivecache',
};

/** mboxname_metapath: a metadata file of the mailbox. */
export function mailboxMetaFile(cfg: PathConfig, loc: MailboxLocation, file: MetaFile): string {
  const name = META_NAMES[file];
  if (!name) throw new PathError(`no meta file '${file}'`);
  const override = META_OVERRIDE[file];
  let root = override ? cfg.get(`metadir-${override}-${loc.partition}`) : undefined;
  if (root === undefined && cfg.metapartitionFiles.has(file)) root = cfg.metaPartitions.get(loc.partition);
  if (root === undefined && file === 'archivecache' && cfg.archiveEnabled) root = cfg.archivePartitions.get(loc.partition);
  root ??= partitionRoot(cfg, loc.partition);
  return `${layout(root, loc, cfg)}/${name}`;
}

/** mboxname_lockpath: `<lockroot><legacy layout of name>.lock`. */
export function lockFile(cfg: PathConfig, lockName: string): string {
  return `${legacyMailboxDir(cfg.lockDirectory, lockName, cfg)}.lock`;
}

/** The mailbox namelock name: uniqueid, or the internal name for legacy-dir mailboxes. */
export function mailboxLockName(loc: Pick<MailboxLocation, 'name' | 'uniqueid' | 'legacyDirs'>): string {
  return loc.legacyDirs || !loc.uniqueid ? loc.name : loc.uniqueid;
}

/** user_namespacelock name: `*U*` + userid with dots as `^` (empty userid = global). */
export function userNamespaceLockName(userid: string | null): string {
  return `*U*${(userid ?? '').replace(/\./g, '^')}`;
}

/** sync_client's per-user lock name: `*S*<sync host>*<userid>`, dots as `^`. */
export function syncLockName(syncHost: string, userid: string | null): string {
  return `*S*${syncHost.replace(/\./g, '^')}*${(userid ?? '').replace(/\./g, '^')}`;
}

/** mboxname_conf_getpath_legacy: name-hashed per-user (or shared) file under configdirectory. */
export function legacyConfPath(cfg: PathConfig, mb: MbName, suffix: string): string {
  const h = (s: string): string => dirHash(s, cfg.fullDirHash);
  const domainDir = mb.domain ? `${cfg.configDirectory}/domain/${h(mb.domain)}/${mb.domain}` : cfg.configDirectory;
  if (mb.localpart !== null) return `${domainDir}/user/${h(mb.localpart)}/${mb.localpart}.${suffix}`;
  return `${domainDir}/shared.${suffix}`;
}

/**
 * mboxname_conf_getpath for a user: uuid layout when the INBOX exists, has a
 * uniqueid and is not `l`, else the legacy path. Suffixes: seen, sub,
 * counters, conversations, dav, xapianactive, mboxkey.
 */
export function userConfPath(cfg: PathConfig, userid: string, suffix: string, inbox: InboxRef | null): string {
  if (inbox && inbox.uniqueid && !inbox.legacyDirs) {
    return `${cfg.configDirectory}/user/${uuidDir(null, inbox.uniqueid)}/${suffix}.db`;
  }
  return legacyConfPath(cfg, parseUserId(userid, cfg), suffix);
}

/**
 * user_sieve_path: uuid layout for a uuid INBOX, legacy name layout for an `l`
 * INBOX; null when the user has no INBOX (Cyrus returns ""), and the global
 * script directory for userid null.
 */
export function userSieveDir(cfg: PathConfig, userid: string | null, inbox: InboxRef | null): string | null {
  const h = (s: string): string => dirHash(s, cfg.fullDirHash);
  const virt = cfg.virtDomains !== 'off';
  const mb = userid === null ? null : parseUserId(userid.replace(/\^/g, '.'), cfg);
  if (mb && mb.localpart !== null) {
    if (!inbox) return null;
    if (!inbox.legacyDirs && inbox.uniqueid) return uuidDir(cfg.sieveDir, inbox.uniqueid);
  }
  let out = cfg.sieveDir;
  if (virt && mb?.domain) out += `/domain/${h(mb.domain)}/${mb.domain}`;
  if (mb && mb.localpart !== null) {
    const u = virt ? mb.localpart : (userIdOf(mb) ?? mb.localpart);
    return `${out}/${h(u)}/${u}`;
  }
  return `${out}/global`;
}

/** Directory the quotalegacy files live under: that of quota_db_path (default <configdir>/quotas.db). */
export function quotaBaseDir(cfg: PathConfig): string {
  const p = cfg.db.quota.path ?? `${cfg.configDirectory}/quotas.db`;
  const slash = p.lastIndexOf('/');
  return slash >= 0 ? p.slice(0, slash) : p;
}

/** hash_quota: the quotalegacy file of a quota root (e.g. `user.tom` → `<dir>/quota/t/user.tom`). */
export function quotaFile(cfg: PathConfig, root: string): string {
  let out = quotaBaseDir(cfg);
  let qr = root;
  const bang = root.indexOf('!');
  if (cfg.virtDomains !== 'off' && bang >= 0) {
    const domain = root.slice(0, bang);
    out += `/domain/${dirHash(domain, cfg.fullDirHash)}/${domain}`;
    qr = root.slice(bang + 1);
    if (!qr) return `${out}/quota/root`;
  }
  const dot = qr.indexOf('.');
  const idx = dot >= 0 ? qr.slice(dot + 1) : qr;
  // name_to_hashchar returns NUL for an empty root; that path is not reachable for real roots.
  return `${out}/quota/${qr ? dirHash(idx, cfg.fullDirHash) : ''}/${qr}`;
}
