/**
 * Whether an APPLY MAILBOX may go out in the same flight as the APPLY
 * MESSAGE that uploads its new messages (the one-round-trip fast path).
 * Cyrus 3.6.1's replica calls abort() on an APPLY MAILBOX whose new message
 * it failed to store (disk full, I/O error): its process dumps core. So once
 * a replica has refused an upload, every connection of this thread (a shard
 * worker, in the daemon) waits for each upload's answer first, as stock
 * always does, for a while.
 */
export const SUSPEND_MS = 15 * 60_000;

let suspendedUntil = 0;

export function mayPipelineUploads(now = Date.now()): boolean {
  return now >= suspendedUntil;
}

/** The replica refused an upload; true if this starts a suspension (worth one log line). */
export function uploadRefused(now = Date.now()): boolean {
  const starts = now >= suspendedUntil;
  suspendedUntil = now + SUSPEND_MS;
  return starts;
}

/** Until when uploads are confirmed (epoch ms), 0 when the one-flight path is on: for status and metrics. */
export function confirmingUploadsUntil(now = Date.now()): number {
  return now < suspendedUntil ? suspendedUntil : 0;
}
