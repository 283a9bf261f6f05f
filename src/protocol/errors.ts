/**
 * Replication errors as values: the codes sync_client derives from a
 * replica's final line (the DLIST layer's SyncCode, sync_parse_response
 * @3.6.1) plus our own transport codes. Callers switch on `code` (and on
 * `fault` for a connection that broke); they never grep messages.
 */
import type { SyncCode } from '../dlist/index.js';
import { SyncmuxError } from '../errors.js';

export type SyncErrorCode =
  | Exclude<SyncCode, 'OK'>
  /** Connection lost, timed out or could not be made: reconnect and retry. */
  | 'IMAP_AGAIN'
  | 'IMAP_SASL_FAIL'
  | 'IMAP_TLS_REQUIRED';

/**
 * Why a replica connection is unusable, when it is: the stream itself broke,
 * so no command's data was at fault and the batch must be retried on a new
 * connection. A hostile or broken replica is handled like a lost one.
 *   closed   the replica closed the connection (or reset it)
 *   timeout  no greeting, or a reply not complete within its time (sync_timeout)
 *   garbage  bytes that are no csync/IMAP response where one was due
 *   limit    a line or literal beyond what we accept from a replica (memory bound)
 */
export type ConnectionFault = 'closed' | 'timeout' | 'garbage' | 'limit';

export class SyncProtocolError extends SyncmuxError {
  declare readonly code: SyncErrorCode;

  constructor(code: SyncErrorCode, message: string, readonly fault: ConnectionFault | null = null) {
    super(code, `${code}: ${message}`);
  }

  /** True for faults that a reconnect may cure. */
  get transient(): boolean {
    return this.fault !== null || this.code === 'IMAP_AGAIN' || this.code === 'IMAP_BYE_LOGOUT' || this.code === 'IMAP_MAILBOX_LOCKED';
  }
}

/** A replica that broke the protocol (garbage, a broken limit): the connection is dropped and retried. */
export function replicaFault(fault: Exclude<ConnectionFault, 'closed' | 'timeout'>, message: string): SyncProtocolError {
  return new SyncProtocolError('IMAP_PROTOCOL_ERROR', message, fault);
}

/** At most 200 characters of a replica's line, control and 8-bit bytes escaped: for error messages. */
export function printable(line: string): string {
  const head = line.slice(0, 200).replace(/[\x00-\x1f\x7f-\xff]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
  return line.length > 200 ? `${head}… (${line.length} bytes)` : head;
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
  return err instanceof SyncProtocolError && (err.fault !== null || err.code === 'IMAP_AGAIN' || err.code === 'IMAP_BYE_LOGOUT');
}
