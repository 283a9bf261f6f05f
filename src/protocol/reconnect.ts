/**
 * Connecting with stock sync_client's patience: on failure wait 15 s, then
 * double, capped at sync_reconnect_maxwait (so 15, 20, 20, … with a 20 s
 * cap), telling the caller before each wait so it can print Cyrus's
 * "Can not connect to server '<host>', retrying in N seconds". The daemon
 * starts the doubling at 1 s instead (a replica restart takes a second or
 * two, and its users would read stale mail for the rest of a 15 s wait).
 *
 * A failed authentication is retried too, as stock does (backend_connect
 * returns no backend either way, seen against Debian's 3.6.1 with a wrong
 * sync_password: "retrying in 15 seconds", "… 20 seconds", in -u as in -R
 * mode): the fix is often on the replica (its sasldb, its mechanisms), and
 * a client that exits instead has a supervisor respawn it in a tight loop.
 * Each wait's report carries the cause, so the log says what to fix.
 * `once` gives up at the first failure (the drop-in's rolling mode once it
 * has been connected, as stock). syncmux_require_tls refusing a
 * replica without STARTTLS is not retried: that is this side's setting.
 */
import { SyncConnection } from './connection.js';
import type { Endpoint } from './endpoint.js';
import { SyncProtocolError } from './errors.js';

export const FIRST_RETRY_SECONDS = 15;

export function retryDelaysSeconds(maxWaitSeconds: number, firstSeconds = FIRST_RETRY_SECONDS): () => number {
  let next = firstSeconds;
  return () => {
    const wait = Math.min(next, Math.max(0, maxWaitSeconds));
    next *= 2;
    return wait;
  };
}

export interface RetryOptions {
  /** Give up after the first failure (`-o` / connect once). */
  once?: boolean;
  /** The first wait; later ones double (default stock's 15 s). */
  firstRetrySeconds?: number;
  signal?: AbortSignal;
  onWait?: (message: string, seconds: number, cause: SyncProtocolError) => void;
  /** For tests: replaces the real sleep. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

export async function connectWithRetry(endpoint: Endpoint, o: RetryOptions = {}): Promise<SyncConnection> {
  const delays = retryDelaysSeconds(endpoint.reconnectMaxWaitMs / 1000, o.firstRetrySeconds);
  const sleep = o.sleep ?? abortableSleep;
  for (;;) {
    o.signal?.throwIfAborted();
    let cause: SyncProtocolError;
    try {
      return await connectOnce(endpoint);
    } catch (err) {
      cause = err instanceof SyncProtocolError ? err : new SyncProtocolError('IMAP_AGAIN', String(err));
    }
    if (!(cause.transient || cause.code === 'IMAP_SASL_FAIL') || o.once) throw cause;
    const seconds = delays();
    o.onWait?.(`Can not connect to server '${endpoint.serverName}', retrying in ${seconds} seconds`, seconds, cause);
    await sleep(seconds * 1000, o.signal);
  }
}

async function connectOnce(endpoint: Endpoint): Promise<SyncConnection> {
  try {
    return await SyncConnection.connect(endpoint);
  } catch (err) {
    if (endpoint.fallbackPort === null || !(err instanceof SyncProtocolError) || err.code === 'IMAP_SASL_FAIL') throw err;
    return SyncConnection.connect({ ...endpoint, port: endpoint.fallbackPort, tryImap: false });
  }
}

export function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
