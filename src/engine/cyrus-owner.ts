/**
 * Files we create in Cyrus's directories (sync locks, the sync cache) must
 * belong to the cyrus user even when a test or an admin runs us as root;
 * the CLIs drop to cyrus first, this covers in-process use.
 */
import fs from 'node:fs';
import { lookupSystemUser } from '../cyrus/index.js';

let ids: { uid: number; gid: number } | null | undefined;

/** The cyrus user's ids when we are root (and it exists), else null: nothing to change. */
export function cyrusOwnerIfRoot(): { uid: number; gid: number } | null {
  if (process.getuid?.() !== 0) return null;
  if (ids !== undefined) return ids;
  ids = lookupSystemUser('cyrus');
  return ids;
}

export function chownToCyrus(file: string): void {
  const owner = cyrusOwnerIfRoot();
  if (owner) fs.chownSync(file, owner.uid, owner.gid);
}
