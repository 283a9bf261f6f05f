/**
 * Quota roots (imap/quota_db.c, lib/cyrusdb_quotalegacy.c @3.6.1) in the
 * default quotalegacy backend: one file per root, content = value + LF,
 * replaced by rename (a plain read is consistent). Value is the dlist
 * `%(S (used [limit]) M (…) AS (…) NF (…) [SCAN …] MODSEQ n)` (storage limits
 * in KiB, a missing limit = unlimited) or the historical text form
 * `used limit [RES used limit]…`, where -1 is unlimited. On disk nothing
 * changed through 3.12: the dlist keys stay S/M/AS/NF. 3.10 renamed the IMAP
 * names of the last two after RFC 9208 (ANNOTATION-STORAGE, MAILBOX), and its
 * sync protocol sends both the new and the legacy X- names (RESOURCE_NAMES).
 */
import fs from 'node:fs';
import { isKvList, isList, parseDlistValue, kvGet, type DValue } from './dlist-value.js';
import { quotaBaseDir, quotaFile, type PathConfig } from './paths.js';
import { CyrusFileError, decodingFile } from './file-error.js';

export type QuotaResource = 'STORAGE' | 'MESSAGE' | 'X-ANNOTATION-STORAGE' | 'X-NUM-FOLDERS';
export const QUOTA_RESOURCES: readonly QuotaResource[] = ['STORAGE', 'MESSAGE', 'X-ANNOTATION-STORAGE', 'X-NUM-FOLDERS'];
const DB_NAMES: Record<QuotaResource, string> = { STORAGE: 'S', MESSAGE: 'M', 'X-ANNOTATION-STORAGE': 'AS', 'X-NUM-FOLDERS': 'NF' };
/** RFC 9208 names (Cyrus 3.10+ quota_names; ours are its legacy_quota_names). */
export const RFC9208_NAMES: Readonly<Record<QuotaResource, string>> = { STORAGE: 'STORAGE', MESSAGE: 'MESSAGE', 'X-ANNOTATION-STORAGE': 'ANNOTATION-STORAGE', 'X-NUM-FOLDERS': 'MAILBOX' };

/** Every name a resource goes by: the legacy IMAP name first, then the RFC 9208 one if different. */
export function resourceNames(r: QuotaResource): string[] {
  return RFC9208_NAMES[r] === r ? [r] : [r, RFC9208_NAMES[r]];
}

/** A resource by any of its names, case-insensitively: DB key (as quota_parseval's text form), legacy or RFC 9208 IMAP name. */
function resourceByName(name: string): QuotaResource | undefined {
  const n = name.toUpperCase();
  return QUOTA_RESOURCES.find((r) => DB_NAMES[r] === n || r === n || RFC9208_NAMES[r] === n);
}

export interface QuotaEntry {
  readonly root: string;
  readonly used: Readonly<Record<QuotaResource, bigint>>;
  /** null = unlimited. STORAGE and X-ANNOTATION-STORAGE in KiB. */
  readonly limits: Readonly<Record<QuotaResource, bigint | null>>;
  readonly modseq: bigint;
}

export class QuotaFormatError extends CyrusFileError {
  override readonly code: string = 'SYNCMUX_CYRUS_QUOTA';
}

const num = (s: string | null | undefined): bigint | null => {
  const m = /^\s*([+-]?\d+)/.exec(s ?? '');
  return m ? BigInt(m[1] ?? '0') : null;
};

function blank(): { used: Record<QuotaResource, bigint>; limits: Record<QuotaResource, bigint | null> } {
  return {
    used: { STORAGE: 0n, MESSAGE: 0n, 'X-ANNOTATION-STORAGE': 0n, 'X-NUM-FOLDERS': 0n },
    limits: { STORAGE: null, MESSAGE: null, 'X-ANNOTATION-STORAGE': null, 'X-NUM-FOLDERS': null },
  };
}

/** quota_parseval; `text` is the value without the file's final LF. */
export function decodeQuotaValue(root: string, text: string): QuotaEntry {
  const q = blank();
  if (text.startsWith('%')) {
    let v: DValue;
    try {
      v = parseDlistValue(text);
    } catch (e) {
      throw new QuotaFormatError(`quota ${root}: ${(e as Error).message}`);
    }
    if (!isKvList(v)) throw new QuotaFormatError(`quota ${root}: not a kvlist`);
    for (const res of QUOTA_RESOURCES) {
      const item = kvGet(v, DB_NAMES[res]);
      if (!isList(item)) continue;
      const [used, limit] = item.items;
      if (typeof used === 'string') q.used[res] = num(used) ?? 0n;
      if (typeof limit === 'string') q.limits[res] = num(limit);
    }
    const modseq = kvGet(v, 'MODSEQ');
    return Object.freeze({ root, ...q, modseq: typeof modseq === 'string' ? (num(modseq) ?? 0n) : 0n });
  }
  // quotalegacy turns the first LF of an old value into a space before parsing.
  const fields = text.replace('\n', ' ').split(/[ \t\r\n]+/).filter(Boolean);
  let res: QuotaResource = 'STORAGE';
  for (let i = 0; ; ) {
    if (i + 2 > fields.length) throw new QuotaFormatError(`quota ${root}: bad legacy value`);
    const used = num(fields[i++]);
    const limit = num(fields[i++]);
    if (used === null || limit === null) throw new QuotaFormatError(`quota ${root}: bad legacy value`);
    q.used[res] = used;
    q.limits[res] = limit < 0n ? null : limit;
    // A third number is leftover scan data from an interrupted `quota -f`.
    if (i < fields.length && num(fields[i]) !== null) i++;
    if (i === fields.length) break;
    const next = resourceByName(fields[i] ?? '');
    if (!next) throw new QuotaFormatError(`quota ${root}: unknown resource ${fields[i]}`);
    res = next;
    i++;
  }
  return Object.freeze({ root, ...q, modseq: 0n });
}

/** Decodes a quotalegacy file image (must end in LF, as Cyrus requires); `path` names the file in errors. */
export function decodeQuotaFile(root: string, buf: Buffer, path = ''): QuotaEntry {
  return decodingFile(path, (m, cause) => new QuotaFormatError(`quota ${root}: ${m}`, '', { cause }), () => {
    if (buf.length === 0 || buf[buf.length - 1] !== 0x0a) throw new QuotaFormatError(`quota ${root}: file does not end in a newline`);
    return decodeQuotaValue(root, buf.toString('utf8', 0, buf.length - 1));
  });
}

/** Reads one quota root; null when it has no file. */
export function readQuota(cfg: PathConfig, root: string): QuotaEntry | null {
  const path = quotaFile(cfg, root);
  let buf: Buffer;
  try {
    buf = fs.readFileSync(path);
  } catch (e) {
    if ((e as { code?: string }).code === 'ENOENT') return null;
    throw e;
  }
  return decodeQuotaFile(root, buf, path);
}

/** Every quota root with a file (stray `*.NEW` files from crashed writers are skipped). */
export function listQuotaRoots(cfg: PathConfig): string[] {
  const base = quotaBaseDir(cfg);
  const roots: string[] = [];
  const scan = (dir: string, prefix: string): void => {
    let hashDirs: string[];
    try {
      hashDirs = fs.readdirSync(`${dir}/quota`);
    } catch {
      return;
    }
    for (const h of hashDirs) {
      if (h === 'root') {
        roots.push(prefix);
        continue;
      }
      let files: string[] = [];
      try {
        files = fs.readdirSync(`${dir}/quota/${h}`);
      } catch {
        continue;
      }
      for (const f of files) if (!f.endsWith('.NEW')) roots.push(prefix + f);
    }
  };
  scan(base, '');
  if (cfg.virtDomains !== 'off') {
    let hashes: string[] = [];
    try {
      hashes = fs.readdirSync(`${base}/domain`);
    } catch {
      // no domains
    }
    for (const h of hashes) {
      let domains: string[] = [];
      try {
        domains = fs.readdirSync(`${base}/domain/${h}`);
      } catch {
        continue;
      }
      for (const d of domains) scan(`${base}/domain/${h}/${d}`, `${d}!`);
    }
  }
  return roots.sort();
}
