/**
 * What `--repair` and the daemon's `syncmux_verify_repair` do about a
 * diverging user: write the daemon's `resyncuser-<U>` control file, as
 * `syncmux resync --user U` does. Shared mailboxes have no such request
 * (`syncmux-client -m` resyncs them), so they are left out.
 */
import fs from 'node:fs';
import path from 'node:path';
import { chownToCyrus } from '../engine/index.js';
import { RESYNC_PREFIX } from '../shard/index.js';
import { SHARED } from './subjects.js';

/** Returns the users whose resync was requested. */
export function queueResyncs(channelDir: string, users: readonly string[]): string[] {
  fs.mkdirSync(channelDir, { recursive: true });
  const queued = users.filter((u) => u !== SHARED && u !== '' && !u.includes('/'));
  for (const u of queued) {
    const file = path.join(channelDir, `${RESYNC_PREFIX}${u}`);
    fs.writeFileSync(file, '');
    chownToCyrus(file);
  }
  return queued;
}
