/**
 * Running as the cyrus user: become it when started as root, as every Cyrus
 * tool does (become_cyrus), so nothing we create in Cyrus's directories
 * (sync locks, shard logs, quarantine) is ever root-owned; and tell, once
 * we are that user, whether our own code is still readable to us.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { lookupSystemUser } from '../cyrus/index.js';
import { SyncmuxError } from '../errors.js';

/** We are root and cannot become the cyrus user: the CLIs exit 64 with this one line, as Cyrus's tools ("must run as the Cyrus user"). */
export class PrivilegeError extends SyncmuxError {
  constructor(message: string, options?: ErrorOptions) {
    super('SYNCMUX_PRIVILEGE', message, options);
  }
}

export function becomeCyrus(user = process.env.CYRUS_USER ?? 'cyrus'): void {
  if (process.getuid?.() !== 0) return;
  const ids = lookupSystemUser(user);
  if (!ids) throw new PrivilegeError(`must run as the Cyrus user: there is no user ${JSON.stringify(user)}; refusing to run as root`);
  const { uid, gid } = ids;
  try {
    (process as NodeJS.Process & { initgroups?: (user: string, group: number) => void }).initgroups?.(user, gid);
    process.setgid?.(gid);
    process.setuid?.(uid);
  } catch (error) {
    throw new PrivilegeError(`must run as the Cyrus user: cannot switch to ${user} (${(error as Error).message}); refusing to run as root`);
  }
  // CYRUS_USER=root is an explicit choice (tests without a cyrus user); anything else must leave root.
  if (uid !== 0 && process.getuid?.() === 0) throw new PrivilegeError(`must run as the Cyrus user: cannot switch to ${user}; refusing to run as root`);
}

/**
 * Cyrus's own file modes: its services run with umask 077, so the sync log
 * is 0600 in a 0700 channel directory. Everything we create there (shard
 * logs, retry journal, quarantine, status, locks, cache) gets the same.
 */
export function useCyrusUmask(): void {
  process.umask(0o077);
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
