/**
 * Sieve in 3.6: scripts are messages in the per-user mailbox
 * `user.<u>.<sieve_folder>` (type `f`, active script = \Flagged), replicated
 * as an ordinary mailbox. Users not yet migrated still have `<name>.script`
 * sources plus `<name>.bc` and the `defaultbc` symlink in their sieve
 * directory. We only list that directory; the migration Cyrus' sync_client
 * performs (sieve_ensure_folder) is a master-side write we never do.
 */
import fs from 'node:fs';
import type { CyrusConfig } from './config.js';
import { formatIntName, parseUserId, type NameContext } from './names.js';

export interface SieveDirScript {
  /** Script name without `.script`. */
  readonly name: string;
  readonly file: string;
  readonly size: number;
  readonly mtime: number;
}

export interface SieveDirListing {
  readonly dir: string;
  readonly scripts: readonly SieveDirScript[];
  /** Name the `defaultbc` link points at (without `.bc`), or null. */
  readonly active: string | null;
}

/** mboxname_user_mbox(userid, sieve_folder). */
export function sieveMailboxName(cfg: Pick<CyrusConfig, 'sieveFolder'> & NameContext, userid: string): string {
  const mb = parseUserId(userid, cfg);
  return formatIntName({ ...mb, boxes: cfg.sieveFolder.split('.').filter(Boolean) }, cfg);
}

/** sievedir_get_active: target of `defaultbc` minus `.bc` (links of 3 chars or fewer count as none). */
export function activeScript(dir: string): string | null {
  let target: string;
  try {
    target = fs.readlinkSync(`${dir}/defaultbc`);
  } catch {
    return null;
  }
  return target.length > 3 ? target.slice(0, -3) : null;
}

/** Lists un-migrated `.script` files; null if the directory does not exist. */
export function listSieveDir(dir: string): SieveDirListing | null {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch (e) {
    if ((e as { code?: string }).code === 'ENOENT') return null;
    throw e;
  }
  const scripts: SieveDirScript[] = [];
  for (const n of names.sort()) {
    if (!n.endsWith('.script') || n.length === 7) continue;
    const file = `${dir}/${n}`;
    const st = fs.lstatSync(file);
    if (!st.isFile()) continue;
    scripts.push({ name: n.slice(0, -7), file, size: st.size, mtime: Math.floor(st.mtimeMs / 1000) });
  }
  return { dir, scripts, active: activeScript(dir) };
}
