/**
 * The read-only Cyrus 3.6.1 master state reader: configuration, cyrusdb
 * files, mailboxes.db, on-disk paths, per-mailbox files, sync CRCs, per-user
 * data and locked mailbox snapshots. Nothing here writes to a Cyrus tree.
 */
export * from './config.js';
export { isSecretKey, Secret } from './secret.js';
export { CyrusFileError } from './file-error.js';
export * from './cyrusdb/index.js';
export * from './dlist-value.js';
export * from './names.js';
export * from './mbtype.js';
export * from './mboxlist.js';
export * from './paths.js';
export * from './header.js';
export * from './index-file.js';
export * from './synccrc.js';
export * from './annotations.js';
export * from './seen.js';
export * from './subs.js';
export * from './quota.js';
export * from './sieve.js';
export * from './lock.js';
export * from './snapshot.js';
export { ContentMemo } from './content-memo.js';
export { parseSwitch } from './config-values.js';
export { queryDb, type DbReader } from './cyrusdb/open.js';
export { DbMemos } from './cyrusdb/read-memo.js';
export { lookupSystemUser } from './system-user.js';
