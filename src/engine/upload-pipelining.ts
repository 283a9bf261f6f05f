/**
 * Whether an APPLY MAILBOX may go out in the same flight as the APPLY
 * MESSAGE that uploads its new messages (the one-round-trip fast path).
 * Cyrus 3.6.1's replica calls abort() on an APPLY MAILBOX whose new message
 * it failed to store (disk full, I/O error): its process dumps core. So once
 * a replica has refused an upload, every connection sharing this object (a
 * replicator's, in a shard worker or the drop-in) waits for each upload's
 * answer first, as stock always does, for a while.
 */
export const SUSPEND_MS = 15 * 60_000;

export class UploadPipelining {
  private suspendedUntil = 0;

  mayPipeline(now = Date.now()): boolean {
    return now >= this.suspendedUntil;
  }

  /** The replica refused an upload; true if this starts a suspension (worth one log line). */
  refused(now = Date.now()): boolean {
    const starts = now >= this.suspendedUntil;
    this.suspendedUntil = now + SUSPEND_MS;
    return starts;
  }

  /** Until when uploads are confirmed (epoch ms), 0 when the one-flight path is on: for status and metrics. */
  confirmingUntil(now = Date.now()): number {
    return now < this.suspendedUntil ? this.suspendedUntil : 0;
  }
}
