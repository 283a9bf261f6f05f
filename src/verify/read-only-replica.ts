/**
 * A replica connection for auditing that can only read: it is opened like
 * the engine's (same endpoint, SASL, TLS, COMPRESS) but without the engine's
 * session set-up (no APPLY CAPABILITIES, no APPLY FORCE), and any APPLY sent
 * through it is refused locally before it reaches the wire, so a bug in an
 * audit can never change the replica.
 */
import type { CyrusConfig } from '../cyrus/index.js';
import { resolveEndpoint, connectWithRetry, ReplicaClient, type SyncConnection } from '../protocol/index.js';
import { SyncmuxError } from '../errors.js';

export class WriteRefusedError extends SyncmuxError {
  constructor(message: string, options?: ErrorOptions) {
    super('SYNCMUX_WRITE_REFUSED', message, options);
  }
}

/** Wraps `send` so that only GET, NOOP and EXIT pass (RESTART would discard nothing of ours, but is no read either). */
export function guardReadOnly(connection: SyncConnection): SyncConnection {
  const send = connection.send.bind(connection);
  connection.send = ((verb, item) => {
    if (verb !== 'GET' && verb !== 'NOOP' && verb !== 'EXIT') {
      return Promise.reject(new WriteRefusedError(`a read-only audit must not send ${verb}`));
    }
    return send(verb, item);
  }) as SyncConnection['send'];
  return connection;
}

export interface ReadOnlyReplicaOptions {
  trace?: (direction: '>' | '<', line: string) => void;
  signal?: AbortSignal;
}

/** Connects once (no retry loop: an audit that cannot reach the replica reports it and ends). */
export async function openReadOnlyReplica(config: CyrusConfig, channel: string | null, o: ReadOnlyReplicaOptions = {}): Promise<ReplicaClient> {
  const endpoint = { ...resolveEndpoint(config, channel), trace: o.trace };
  const connection = await connectWithRetry(endpoint, { once: true, signal: o.signal });
  return new ReplicaClient(guardReadOnly(connection));
}
