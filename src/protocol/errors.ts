/**
 * Replication errors as values: Cyrus's IMAP_* codes, as sync_client maps a
 * replica's `NO <code> text` (sync_parse_response @3.6.1), plus our own
 * transport codes. Callers switch on `code`; they never grep messages.
 */

/** Codes the replica can name on the wire after NO. */
export const WIRE_CODES = [
  'IMAP_INVALID_USER',
  'IMAP_MAILBOX_NONEXISTENT',
  'IMAP_MAILBOX_LOCKED',
  'IMAP_MAILBOX_MOVED',
  'IMAP_MAILBOX_NOTSUPPORTED',
  'IMAP_SYNC_CHECKSUM',
  'IMAP_SYNC_CHANGED',
  'IMAP_SYNC_BADSIEVE',
  'IMAP_PROTOCOL_ERROR',
  'IMAP_PROTOCOL_BAD_PARAMETERS',
] as const;

export type WireCode = (typeof WIRE_CODES)[number];

export type SyncErrorCode =
  | WireCode
  /** Any other NO: the replica refused (stock maps it so). */
  | 'IMAP_REMOTE_DENIED'
  /** The replica said BYE. */
  | 'IMAP_BYE_LOGOUT'
  /** Connection lost, timed out or could not be made: reconnect and retry. */
  | 'IMAP_AGAIN'
  | 'IMAP_SASL_FAIL'
  | 'IMAP_TLS_REQUIRED';

export class SyncProtocolError extends Error {
  constructor(readonly code: SyncErrorCode, message: string) {
    super(`${code}: ${message}`);
    this.name = 'SyncProtocolError';
  }

  /** True for faults that a reconnect may cure. */
  get transient(): boolean {
    return this.code === 'IMAP_AGAIN' || this.code === 'IMAP_BYE_LOGOUT' || this.code === 'IMAP_MAILBOX_LOCKED';
  }
}

/**
 * Maps the text after NO as stock does: a known code followed by a space,
 * else IMAP_REMOTE_DENIED. We also accept a bare code at end of line, so the
 * server's `NO IMAP_PROTOCOL_BAD_PARAMETERS` (no trailing text) keeps its
 * real meaning instead of stock's accidental REMOTE_DENIED.
 */
export function codeFromNo(text: string): SyncErrorCode {
  for (const code of WIRE_CODES) {
    if (text === code || text.startsWith(`${code} `)) return code;
  }
  return 'IMAP_REMOTE_DENIED';
}
