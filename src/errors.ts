/**
 * The one error family: every error syncmux raises on purpose is a
 * SyncmuxError with a stable `code` that callers and tests switch on; they
 * never match messages. Codes are syncmux's own `SYNCMUX_*`, the replica's
 * Cyrus codes (`IMAP_*`, SyncProtocolError) and the DLIST codec's limits
 * (DlistError). A TypeError or RangeError still means a programming
 * mistake, and the addon's system errors keep Node's errno `code`
 * (ETIMEDOUT, ECANCELED, EZLIB). Exit codes are the CLI's
 * (src/cli/exit-codes.ts), not errors'.
 */
export class SyncmuxError extends Error {
  constructor(
    readonly code: string,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** True for a SyncmuxError carrying `code`. */
export function hasCode(err: unknown, code: string): err is SyncmuxError {
  return err instanceof SyncmuxError && err.code === code;
}
