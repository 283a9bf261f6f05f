/**
 * The read-only audit's public face: the background audit of `run`, the
 * subjects it walks, divergence reports and the resyncs that repair them.
 */
export { BackgroundAudit, auditSettings, type AuditStatus } from './background-audit.js';
export { formatDivergence, type Divergence } from './divergence.js';
export { openReadOnlyReplica } from './read-only-replica.js';
export { queueResyncs } from './repair.js';
export { SHARED, allSubjects, auditSettled } from './subjects.js';
