/**
 * Backend detection by magic, as cyrusdb_detect (lib/cyrusdb.c) does: the
 * configured backend is only a hint, because mailboxes.db is never converted
 * and old seen/annotation files may still be skiplist. Anything without a
 * binary magic is treated as flat text.
 */
import type { DetectedBackend } from './types.js';

const MAGIC_PREFIX = Buffer.from([0xa1, 0x02, 0x8b, 0x0d]);
export const TWOSKIP_MAGIC = Buffer.concat([MAGIC_PREFIX, Buffer.from('twoskip file\0\0\0\0', 'latin1')]);
export const SKIPLIST_MAGIC = Buffer.concat([MAGIC_PREFIX, Buffer.from('skiplist file\0\0\0', 'latin1')]);

/** Cyrus compares 16 bytes of a 32-byte read; shorter files are not detected. */
export function detectMagic(head: Uint8Array): 'twoskip' | 'skiplist' | null {
  if (head.length < 32) return null;
  const h = Buffer.from(head.buffer, head.byteOffset, 16);
  if (h.equals(SKIPLIST_MAGIC.subarray(0, 16))) return 'skiplist';
  if (h.equals(TWOSKIP_MAGIC.subarray(0, 16))) return 'twoskip';
  return null;
}

export function detectBackend(head: Uint8Array): DetectedBackend {
  return detectMagic(head) ?? 'flat';
}
