/**
 * Running as the cyrus user: become it when started as root, as every Cyrus
 * tool does (become_cyrus), so nothing we create in Cyrus's directories
 * (sync locks, shard logs, quarantine) is ever root-owned; and tell, once
 * we are that user, whether our own code is still readable to us.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { lookupSystemUser } from '../cyrus/system-user.js';

export function becomeCyrus(user = process.env.CYRUS_USER ?? 'cyrus'): void {
  if (process.getuid?.() !== 0) return;
  const ids = lookupSystemUser(user);
  if (!ids) throw new Error(`cannot find the ${user} user to run as`);
  const { uid, gid } = ids;
  (process as NodeJS.Process & { initgroups?: (user: string, group: number) => void }).initgroups?.(user, gid);
  process.setgid?.(gid);
  process.setuid?.(uid);
  if (uid !== 0 && process.getuid?.() === 0) throw new Error(`cannot switch to the ${user} user; refusing to run as root`);
}

/**
 * Null when the current user can read `module`; else which directory or
 * file stops it (access(2) checks the real ids, which are cyrus's after
 * becomeCyrus), e.g. "/root (mode 0700) is closed to uid 110".
 */
export function describeUnreadable(module: URL): string | null {
  const file = fileURLToPath(module);
  if (canAccess(file, fs.constants.R_OK)) return null;
  let blocker = file;
  for (let dir = path.dirname(file); ; dir = path.dirname(dir)) {
    if (!canAccess(dir, fs.constants.X_OK)) blocker = dir;
    if (path.dirname(dir) === dir) break;
  }
  let mode = '';
  try {
    mode = ` (mode ${(fs.statSync(blocker).mode & 0o7777).toString(8).padStart(4, '0')})`;
  } catch {
    // unknown
  }
  return `${blocker}${mode} is closed to uid ${process.getuid?.() ?? '?'}, so syncmux cannot read its own code in ${path.dirname(file)}`;
}

function canAccess(file: string, mode: number): boolean {
  try {
    fs.accessSync(file, mode);
    return true;
  } catch {
    return false;
  }
}
