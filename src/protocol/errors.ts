/**
 * Replication errors as values: the codes sync_client derives from a
 * replica's final line (the DLIST layer's SyncCode, sync_parse_response
 * @3.6.1) plus our own transport codes. Callers switch on `code`; they never
 * grep messages.
 */
import type { SyncCode } from '../dlist/index.js';

export type SyncErrorCode =
  | Exclude<SyncCode, 'OK'>
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
 * Stock maps a bare `NO IMAP_PROTOCOL_BAD_PARAMETERS` (the server sends no
 * text after it) to REMOTE_DENIED by accident; we keep its real meaning,
 * which is what an operator needs to see.
 */
export function noCode(code: SyncCode, text: string | null): SyncErrorCode {
  if (text?.trim() === 'IMAP_PROTOCOL_BAD_PARAMETERS') return 'IMAP_PROTOCOL_BAD_PARAMETERS';
  return code === 'OK' ? 'IMAP_REMOTE_DENIED' : code;
}

/** Errors that mean the connection is gone, not that the data sent was at fault. */
export function isConnectionError(err: unknown): boolean {
  return err instanceof SyncProtocolError && (err.code === 'IMAP_AGAIN' || err.code === 'IMAP_BYE_LOGOUT');
}
