/**
 * The replication engine's public face: the Engine and its pool, the
 * Replicator contract the shard workers drive, one log pass, the upload
 * caps, and the replica-state comparisons that verify shares.
 */
export { chownToCyrus } from './cyrus-owner.js';
export { DEFAULT_TOTAL_CONNECTIONS, EnginePool, connectionCount } from './engine-pool.js';
export { Engine } from './engine.js';
export { copybackClient } from './copyback.js';
export { replicateFile, type PassResult } from './log-pass.js';
export { optionLetters, snapshotSyncCrcs } from './mailbox-dlist.js';
export { quotaDiffers, replicaQuotaLimits, type QuotaLimits } from './quota-dlist.js';
export { RateLimit } from './rate-limit.js';
export { decodeReplicaMailbox, isUnchanged, type ReplicaMailbox } from './replica-mailbox.js';
export type { Replicator, ReplicatorContext, ReplicatorFactory, UserBatch, UserOutcome } from './replicator.js';
export { seenDiffers, type SeenState } from './seen-state.js';
