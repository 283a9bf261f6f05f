/**
 * The contract between a shard worker and the replication engine. A worker
 * owns ordering, durability of its log files, retries and failure
 * isolation; the engine owns turning one user's log lines into replica
 * state. Keeping this seam small lets each side be tested on its own.
 */
import type { SyncLogLine } from '../synclog/index.js';
import type { UploadPipelining } from './upload-pipelining.js';
import type { SyncCache } from './sync-cache.js';

export interface UserBatch {
  /** The shard key (see src/synclog/route.ts): a userid, `@domain`, `@` or `*`. */
  key: string;
  /** That key's lines, in log order. */
  lines: SyncLogLine[];
  /** True when these lines come from the retry log (a previous attempt failed). */
  retry: boolean;
}

export type UserOutcome =
  /** `handedOff`: Cyrus's own sync_client did it (copyback, sieve migration). */
  | { ok: true; handedOff?: boolean }
  /** `retryable`: worth another attempt later (connection loss, replica busy…). */
  /** `unreachable`: the batch never reached the replica (it could not be connected to). */
  | { ok: false; retryable: boolean; error: string; unreachable?: boolean };

export interface Replicator {
  /**
   * Replicates one batch. Resolves only once the replica has confirmed every
   * change in it. Batches of different keys may be in flight at once (the
   * engine pipelines them over one connection); batches of one key are
   * never given concurrently.
   */
  replicate(batch: UserBatch): Promise<UserOutcome>;
  /**
   * Optional: start connecting now, as stock does at startup, so the first
   * batch does not wait for the handshake. Failures surface on replicate().
   */
  warmUp?(): void;
  /** Until when uploads wait for their answer before APPLY MAILBOX (epoch ms), 0 when they share its flight: for status. */
  confirmingUploadsUntil?(): number;
  /**
   * Optional: the worker is stopping. Stop waiting for the replica (batches
   * waiting for a connection end as unreachable, their lines stay queued);
   * batches on a live connection may finish within the grace period.
   */
  stopConnecting?(): void;
  /** Called when the worker stops; sends EXIT and closes the connection. */
  close(): Promise<void>;
}

export interface ReplicatorContext {
  shard: number;
  shards: number;
  /** imapd.conf path and channel, as given to syncmux. */
  configFile: string;
  channel: string | null;
  log: (priority: 'err' | 'warning' | 'notice' | 'info' | 'debug', message: string) => void;
  /** Drop-in flags that change how the engine talks to the replica. */
  engine?: EngineOptions;
}

export interface EngineOptions {
  /** -S: overrides sync_host (and names the sync lock). */
  serverOverride?: string;
  /** -p: destination partition. */
  partition?: string;
  /** -O: APPLY FORCE at connect; never copy back. */
  noCopyback?: boolean;
  /** -N: skip users another sync client holds. */
  nonBlocking?: boolean;
  /** -z: fail unless the connection is compressed. */
  requireCompression?: boolean;
  /** The first reconnect wait, doubling up to sync_reconnect_maxwait; default stock's 15 s. */
  firstRetrySeconds?: number;
  /** Give up on the first failed connect instead of retrying; a function is asked at each connect. */
  connectOnce?: boolean | (() => boolean);
  /** -a (3.10): enable REPLICATION-ARCHIVE, so the replica stores what it receives on its archive partition. */
  stageToArchive?: boolean;
  /** Wait for each upload's answer before its APPLY MAILBOX, as stock (the drop-in's object modes). */
  confirmUploads?: boolean;
  /** Disable the sync cache (e.g. the drop-in's one-shot modes). */
  noCache?: boolean;
  /** Wait out an unreachable replica silently (a pool's other engines: the first one reports). */
  quietConnectWaits?: boolean;
  /** Use this sync cache instead of opening the shard's own (engines of one pool share one). */
  sharedCache?: SyncCache | null;
  /** The shared state of syncmux_max_bytes/messages_per_second: every engine of a process (all threads) passes the same buffers. */
  capBuffers?: { readonly bytes: SharedArrayBuffer; readonly messages: SharedArrayBuffer };
  /** Whether uploads may share a flight with their APPLY MAILBOX; engines of one pool share one. */
  sharedUploads?: UploadPipelining;
  /** -v -v: protocol trace (credentials redacted). */
  trace?: (direction: '>' | '<', line: string) => void;
  /** Write each connection's protocol trace into this directory (set from SYNCMUX_TRACE_DIR by the CLI). */
  traceDir?: string;
  /** Cyrus's CYRUS_PREFIX (read by the CLI) for reading imapd.conf. */
  cyrusPrefix?: string;
  /** Where to report connect retries (stock prints them on stderr). */
  onConnectWait?: (message: string) => void;
}

/** A module a worker loads by URL must export this as `createReplicator`. */
export type ReplicatorFactory = (context: ReplicatorContext) => Promise<Replicator>;
