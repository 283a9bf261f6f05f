/**
 * The replica connection's public face: endpoint resolution, the client
 * over either transport, reconnect waits, and the protocol error family.
 */
export type { SyncConnection } from './connection.js';
export { EndpointError, resolveEndpoint, type Endpoint } from './endpoint.js';
export { SyncProtocolError, isConnectionError } from './errors.js';
export { abortableSleep, connectWithRetry, retryDelaysSeconds } from './reconnect.js';
export { ReplicaClient } from './replica-client.js';
