/**
 * Become the cyrus user when started as root, as every Cyrus tool does
 * (become_cyrus), so nothing we create in Cyrus's directories (sync locks,
 * shard logs, quarantine) is ever root-owned.
 */
import { execFileSync } from 'node:child_process';

export function becomeCyrus(user = process.env.CYRUS_USER ?? 'cyrus'): void {
  if (process.getuid?.() !== 0) return;
  let uid: number;
  let gid: number;
  try {
    uid = Number(execFileSync('id', ['-u', user], { encoding: 'utf8' }).trim());
    gid = Number(execFileSync('id', ['-g', user], { encoding: 'utf8' }).trim());
  } catch {
    throw new Error(`cannot find the ${user} user to run as`);
  }
  (process as NodeJS.Process & { initgroups?: (user: string, group: number) => void }).initgroups?.(user, gid);
  process.setgid?.(gid);
  process.setuid?.(uid);
}
