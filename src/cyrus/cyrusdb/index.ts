/**
 * Public face of the read-only cyrusdb readers (twoskip, skiplist, flat).
 */
export { decodeDb, emptyDb, openDbAsync, pathIdentity, queryDb, readLockedDb, tryOpenDbAsync, type DbReader, type OpenDbOptions } from './open.js';
export { DbMemo, DbMemos } from './read-memo.js';
export { TwoskipSeeker, type ReadAt } from './twoskip-seek.js';
export { SkiplistSeeker } from './skiplist-seek.js';
export { detectBackend, detectMagic } from './detect.js';
export { decodeTwoskip, decodeTwoskipHeader, type TwoskipHeader } from './twoskip.js';
export { decodeSkiplist, decodeSkiplistHeader, type SkiplistHeader } from './skiplist.js';
export { decodeFlat, unescapeFlat } from './flat.js';
export { MemoryDb } from './memory-db.js';
export { CyrusDbError, DbBusyError, type Db, type DetectedBackend, type Entry } from './types.js';
