/**
 * Become the cyrus user when started as root, as every Cyrus tool does
 * (become_cyrus), so nothing we create in Cyrus's directories (sync locks,
 * shard logs, quarantine) is ever root-owned.
 */
import { lookupSystemUser } from '../cyrus/system-user.js';

export function becomeCyrus(user = process.env.CYRUS_USER ?? 'cyrus'): void {
  if (process.getuid?.() !== 0) return;
  const ids = lookupSystemUser(user);
  if (!ids) throw new Error(`cannot find the ${user} user to run as`);
  const { uid, gid } = ids;
  (process as NodeJS.Process & { initgroups?: (user: string, group: number) => void }).initgroups?.(user, gid);
  process.setgid?.(gid);
  process.setuid?.(uid);
}
