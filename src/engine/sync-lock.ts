/**
 * The per-user sync lock stock sync_client 3.6.1 takes before any user or
 * mailbox work: an exclusive fcntl lock on the Cyrus lock file named
 * `*S*<server>*<userid>` (mboxname_lock). Holding the same lock makes a
 * concurrent stock `sync_client -u` safe, and lets `-N` skip users it holds.
 *
 * Unlike the mail store's lock files, this one belongs to the sync client:
 * like stock, we create it (and its hash directory) if missing, owned by
 * the cyrus user even when we run as root.
 */
import fs from 'node:fs';
import path from 'node:path';
import { type CyrusConfig, lockFile, syncLockName } from '../cyrus/index.js';
import { LockFile, lockPolling } from '../native/index.js';
import { cyrusOwnerIfRoot } from './cyrus-owner.js';
import { SyncmuxError } from '../errors.js';

export class UserLockedError extends SyncmuxError {
  constructor(readonly userid: string) {
    super('SYNCMUX_USER_LOCKED', `user ${userid} is locked by another sync client`);
  }
}

function ensureLockFile(file: string): void {
  if (fs.existsSync(file)) return;
  const owner = cyrusOwnerIfRoot();
  const dir = path.dirname(file);
  const created = fs.mkdirSync(dir, { recursive: true, mode: 0o755 });
  if (created && owner) {
    for (let d = dir; d.length >= created.length; d = path.dirname(d)) fs.chownSync(d, owner.uid, owner.gid);
  }
  const fd = fs.openSync(file, fs.constants.O_RDWR | fs.constants.O_CREAT, 0o600);
  if (owner) fs.fchownSync(fd, owner.uid, owner.gid);
  fs.closeSync(fd);
}

export interface HeldLocks {
  release(): void;
}

/** Locks users in sorted order (as stock, to avoid deadlocks). `null` is the shared-mailbox lock. */
export async function lockUsers(
  config: CyrusConfig,
  serverName: string,
  userids: ReadonlyArray<string | null>,
  opts: { nonBlocking: boolean; timeoutMs: number },
): Promise<HeldLocks> {
  const sorted = [...new Set(userids.map((u) => u ?? ''))].sort();
  const held: LockFile[] = [];
  try {
    for (const userid of sorted) {
      const file = lockFile(config, syncLockName(serverName, userid || null));
      ensureLockFile(file);
      const lock = new LockFile(file, { write: true });
      held.push(lock);
      if (opts.nonBlocking) {
        if (!lock.tryLock('exclusive')) throw new UserLockedError(userid);
      } else {
        await lockPolling(lock, 'exclusive', opts.timeoutMs);
      }
    }
  } catch (err) {
    for (const l of held) l.close();
    throw err;
  }
  return { release: () => held.forEach((l) => l.close()) };
}
