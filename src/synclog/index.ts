/**
 * The sync-log layer's public face: the line codec, routing, the barrier
 * contract for shard workers, and the splitter (once and watch modes).
 */
export { LINE_TYPES, LINE_TYPE_NAMES, type ArgKind, type LineType } from './line-types.js';
export { parseLine, printLine, quoteArg, type ParseError, type ParseErrorReason, type ParseResult, type SyncLogLine } from './line.js';
export {
  GLOBAL_KEY,
  LineRouter,
  ParsedLineRouter,
  mailboxKey,
  routeLine,
  shardOfKey,
  SHARED_KEY_PREFIX,
  type Route,
  type RouteOptions,
} from './route.js';
export {
  BARRIER_TYPE,
  BarrierBoard,
  barrierReady,
  compareBarrierIds,
  formatBarrierId,
  formatBarrierLine,
  isBarrierLine,
  parseBarrierId,
  parseBarrierLine,
  roleOf,
  type Barrier,
  type BarrierId,
  type BarrierRole,
  type PassOptions,
  type PositionOf,
} from './barrier.js';
export { channelFiles, type ChannelFiles } from './channel.js';
export { parseQuarantineRecord } from './quarantine.js';
export { ShardCountError } from './shard-count.js';
export { RunStateError } from './run-state.js';
export { ChannelSplitter, splitOnce, SplitterBusyError, type PassOutcome, type SplitOptions } from './splitter.js';
export { runSplitter, type WatchOptions } from './watch.js';
export { newSplitStats, type SplitStats } from './stats.js';
export { handOffLogAbortable, waitOutWriters } from './hand-off.js';
export { SHARD_FILE_PATTERN } from './channel.js';
export { unlinkIfExists } from './durable-file.js';
export { LINE_END, LineReader, type LineBatch } from './line-reader.js';
export { QuarantineBuffer } from './quarantine.js';
export { recordedShardCount } from './shard-count.js';
export { Waker } from './waker.js';
export { PassRequests } from './watch.js';
