/**
 * The uid and gid of a system account, as getpwnam(3) would give them:
 * /etc/passwd first, so a CLI start costs no child process, then `id` for
 * accounts only NSS knows (LDAP, sssd).
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';

export interface SystemUser {
  uid: number;
  gid: number;
}

export function lookupSystemUser(name: string, passwdFile = '/etc/passwd'): SystemUser | null {
  try {
    for (const line of fs.readFileSync(passwdFile, 'latin1').split('\n')) {
      const [user, , uid, gid] = line.split(':');
      if (user === name && /^\d+$/.test(uid ?? '') && /^\d+$/.test(gid ?? '')) return { uid: Number(uid), gid: Number(gid) };
    }
  } catch {
    // no readable passwd file: ask NSS
  }
  try {
    return {
      uid: Number(execFileSync('id', ['-u', name], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim()),
      gid: Number(execFileSync('id', ['-g', name], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim()),
    };
  } catch {
    return null;
  }
}
