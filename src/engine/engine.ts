/**
 * The replication engine behind the Replicator seam: one replica connection
 * (made lazily, with stock's reconnect backoff), one ReplicaSession, and
 * per-batch execution with stock's ordering and promotion. Connection
 * failures reconnect and retry the batch; a user that needs a copyback is
 * handed to Cyrus's own sync_client or parked.
 *
 * A connection the replica breaks (closed, timed out, garbage, a broken
 * limit) is remade at once, as stock does after a drop; if the new one breaks too
 * before any batch succeeded, each further reconnect first waits the
 * connect backoff (stock's 15 s doubling, or the daemon's 1 s), so a broken
 * or hostile replica that greets fine is not hammered.
 */
import fs from 'node:fs';
import { channelSetting, loadConfig, type CyrusConfig } from '../cyrus/index.js';
import {
  resolveEndpoint,
  type Endpoint,
  SyncProtocolError,
  abortableSleep,
  connectWithRetry,
  retryDelaysSeconds,
  ReplicaClient,
} from '../protocol/index.js';
import { copybackClient, NeedsCyrusClientError, runCopyback } from './copyback.js';
import { executeBatch, isConnectionError } from './executor.js';
import type { Replicator, ReplicatorContext, UserBatch, UserOutcome } from './replicator.js';
import { ReplicaSession } from './session.js';
import { SyncCache } from './sync-cache.js';
import { UploadPipelining } from './upload-pipelining.js';
import { RateLimit, type UploadCaps } from './rate-limit.js';
import { UserLockedError } from './sync-lock.js';

/** Replica NOs that the engine handles as part of a healthy flow. */
const EXPECTED_NO = /^(IMAP_MAILBOX_NONEXISTENT|IMAP_SYNC_CHANGED)\b/;


/** Per channel and shard, beside the shard logs; never the path stock's sync_cache_db_path uses. */
function cacheFile(config: CyrusConfig, ctx: ReplicatorContext): string {
  const dir = ctx.channel ? `${config.configDirectory}/sync/${ctx.channel}` : `${config.configDirectory}/sync`;
  return `${dir}/syncmux-cache.${ctx.shard}`;
}

/** syncmux_max_bytes_per_second / syncmux_max_messages_per_second, or null when neither is set. */
function uploadCaps(setting: (key: string) => string | undefined, buffers: { bytes: SharedArrayBuffer; messages: SharedArrayBuffer }): UploadCaps | null {
  const rate = (key: string): number | null => {
    const value = setting(key);
    if (value === undefined || value.trim() === '' || value.trim() === '0') return null;
    const n = Number(value);
    if (!Number.isFinite(n) || n < 0) throw new Error(`${key} must be a number of units per second, not '${value}'`);
    return n;
  };
  const bytes = rate('syncmux_max_bytes_per_second');
  const messages = rate('syncmux_max_messages_per_second');
  if (bytes === null && messages === null) return null;
  return {
    bytes: bytes === null ? null : new RateLimit(buffers.bytes, bytes),
    messages: messages === null ? null : new RateLimit(buffers.messages, messages),
  };
}

/** Connection losses tolerated while one batch is retried, before it goes to the retry log. */
const MAX_RECONNECTS_PER_BATCH = 3;

export class Engine implements Replicator {
  private session: ReplicaSession | null = null;
  private connecting: Promise<ReplicaSession> | null = null;
  /** The last connection attempt failed (cleared by a success): what an EnginePool routes around. */
  private lastConnectError: string | null = null;
  private readonly attemptListeners = new Set<() => void>();
  /** While any of these holds, a failed attempt is not reported (stderr/syslog): a pool keeps one voice. */
  private readonly connectWaitMutes: Array<() => boolean> = [];
  /** Aborted by stopConnecting() or close(): connect waits end, a live connection goes on. */
  private readonly noMoreConnects = new AbortController();
  private closed = false;
  readonly config: CyrusConfig;
  readonly endpoint: Endpoint;
  readonly cache: SyncCache | null;
  readonly uploads: UploadPipelining;
  readonly capBuffers: { readonly bytes: SharedArrayBuffer; readonly messages: SharedArrayBuffer };
  private readonly caps: UploadCaps | null;
  private readonly reserveThreshold: number;
  private readonly flushTimer: NodeJS.Timeout | null;
  /** Connections in a row that broke under a batch, the last of them, and the wait schedule for the next. */
  private breaks = 0;
  private lastBroken: { connection: unknown; cause: string } | null = null;
  private breakDelays: (() => number) | null = null;

  constructor(private readonly ctx: ReplicatorContext) {
    this.config = loadConfig(ctx.configFile, { cyrusPrefix: ctx.engine?.cyrusPrefix });
    this.endpoint = {
      ...resolveEndpoint(this.config, ctx.channel, ctx.engine?.serverOverride),
      trace: ctx.engine?.trace ?? (ctx.engine?.traceDir ? fileTrace(ctx.engine.traceDir, ctx.shard) : undefined),
      authLog: (level, message) => ctx.log(level, message),
      // Stock's wording (sync_parse_response), which Cassandane and admins' alerts look for;
      // the NOs of a healthy flow (a user new to the replica, a stale cached state) below LOG_ERR.
      onRejected: (command, status, text) => {
        if (status !== 'NO') ctx.log('err', `IOERROR: received bad response: command=<${command}> response=<${status}> errmsg=<${text}>`);
        else ctx.log(EXPECTED_NO.test(text) ? 'notice' : 'err', `${command} received NO response: ${text}`);
      },
    };
    this.uploads = ctx.engine?.sharedUploads ?? new UploadPipelining();
    const setting = (key: string) => channelSetting(this.config, ctx.channel, key);
    this.capBuffers = ctx.engine?.capBuffers ?? { bytes: RateLimit.buffer(), messages: RateLimit.buffer() };
    this.caps = uploadCaps(setting, this.capBuffers);
    this.reserveThreshold = Number(setting('syncmux_reserve_threshold') ?? 65536);
    const cacheSetting = setting('syncmux_sync_cache') ?? 'yes';
    this.cache = ctx.engine?.sharedCache !== undefined
      ? ctx.engine.sharedCache
      : /^(off|no|0|false)$/i.test(cacheSetting) || ctx.engine?.noCache
      ? null
      : new SyncCache({ file: cacheFile(this.config, ctx), verifyIntervalMs: Number(setting('syncmux_verify_interval') ?? 86400) * 1000 });
    this.flushTimer = this.cache && ctx.engine?.sharedCache === undefined ? setInterval(() => this.flushCache(), 5000).unref() : null;
    if (ctx.engine?.quietConnectWaits) this.connectWaitMutes.push(() => true);
  }

  muteConnectWaitsWhile(condition: () => boolean): void {
    this.connectWaitMutes.push(condition);
  }

  private reportConnectWaits(): boolean {
    return !this.connectWaitMutes.some((muted) => muted());
  }

  /** Connected, with no failure seen on the connection. */
  get live(): boolean {
    return this.session !== null && !this.session.replica.connection.failure;
  }

  /** Why the last connection attempt failed, while not connected; else null. */
  get connectFailure(): string | null {
    return this.live ? null : this.lastConnectError;
  }

  /** A connection attempt (or the wait before the next one) is under way. */
  get isConnecting(): boolean {
    return this.connecting !== null;
  }

  /** `listener` runs after every connection attempt, successful or not. */
  onConnectAttempt(listener: () => void): void {
    this.attemptListeners.add(listener);
  }

  private attempted(error: string | null): void {
    this.lastConnectError = error;
    for (const l of this.attemptListeners) l();
  }

  private flushCache(): void {
    try {
      this.cache?.flush();
    } catch (err) {
      this.ctx.log('warning', `sync cache not saved: ${(err as Error).message}`);
    }
  }

  /** The live session, connecting (and waiting out the replica) if needed. */
  async connect(): Promise<ReplicaSession> {
    if (this.live) return this.session!;
    // A closed engine opens nothing more: a late batch would leave a socket behind.
    if (this.closed) throw new SyncProtocolError('IMAP_AGAIN', 'connection closed by us');
    this.session = null;
    if (this.connecting) return this.connecting;
    const attempt: Promise<ReplicaSession> = this.openSession().then(
      (session) => {
        if (this.connecting === attempt) this.connecting = null;
        return session;
      },
      (err: unknown) => {
        if (this.connecting === attempt) this.connecting = null;
        this.attempted(err instanceof Error ? err.message : String(err));
        throw err;
      },
    );
    this.connecting = attempt;
    return attempt;
  }

  /**
   * Stock's sync_connect: one APPLY CAPABILITIES for what both sides want.
   * SIEVE-MAILBOX is not awaited (the replica handles a connection's
   * commands in order, so the first batch rides in the same flight; a
   * refusal leaves file-based sieve). REPLICATION-ARCHIVE, asked for by -a,
   * is awaited so its outcome is logged: a replica that offers it but does
   * not enable it (no archive partition) gets stock's notice, and, as with
   * stock (whose replica_connect goes on with the connection sync_connect
   * reported IMAP_REMOTE_DENIED on), replication goes on to its normal
   * partition. A replica that does not offer it is replicated as usual.
   */
  private async enableCapabilities(replica: ReplicaClient, offered: ReadonlySet<string>, archive: boolean): Promise<void> {
    const wanted: string[] = [];
    if (offered.has('SIEVE-MAILBOX') || offered.has('X-SIEVE-MAILBOX')) wanted.push('SIEVE-MAILBOX');
    if (archive) {
      if (offered.has('REPLICATION-ARCHIVE') || offered.has('X-REPLICATION-ARCHIVE')) {
        this.ctx.log('info', 'Destination supports replication to archive');
        wanted.push('REPLICATION-ARCHIVE');
      } else {
        this.ctx.log('notice', "Destination doesn't support replication to archive");
      }
    }
    if (wanted.length === 0) return;
    const enabling = replica.applyCapabilities(wanted);
    if (!wanted.includes('REPLICATION-ARCHIVE')) {
      enabling.catch((err: unknown) => this.ctx.log('notice', `APPLY CAPABILITIES (${wanted.join(' ')}): ${(err as Error).message}`));
      return;
    }
    const enabled = await enabling;
    if (!enabled.some((c) => c.toUpperCase() === 'REPLICATION-ARCHIVE')) {
      this.ctx.log('notice', "Replication to archive requested but destination didn't enable it");
    }
  }

  warmUp(): void {
    this.connect().catch(() => {}); // replicate() connects again and reports
  }

  private async openSession(): Promise<ReplicaSession> {
    const e = this.ctx.engine ?? {};
    await this.waitAfterBreaks();
    const connection = await connectWithRetry(this.endpoint, {
      once: typeof e.connectOnce === 'function' ? e.connectOnce() : e.connectOnce,
      firstRetrySeconds: e.firstRetrySeconds,
      signal: this.noMoreConnects.signal,
      onWait: (message, _s, cause) => {
        this.attempted(cause.message);
        if (!this.reportConnectWaits()) return;
        e.onConnectWait?.(message);
        this.ctx.log('warning', `${message} (${cause.message})`);
      },
    });
    try {
      if (e.requireCompression && !connection.session.compressed) {
        throw new SyncProtocolError('IMAP_PROTOCOL_ERROR', 'compression was required (-z) but the replica did not compress');
      }
      const replica = new ReplicaClient(connection);
      await this.enableCapabilities(replica, connection.session.capabilities, !!e.stageToArchive);
      if (e.noCopyback) await replica.applyForce();
      this.session = new ReplicaSession(this.config, replica, {
        partition: e.partition,
        serverName: this.endpoint.serverName,
        noCopyback: !!e.noCopyback,
        nonBlocking: !!e.nonBlocking,
        stopSignal: this.noMoreConnects.signal,
        reserveThreshold: this.reserveThreshold,
        confirmUploads: !!e.confirmUploads,
      }, this.ctx.log, this.cache, this.uploads, this.caps);
      this.attempted(null);
      return this.session;
    } catch (err) {
      await connection.close();
      throw err;
    }
  }

  confirmingUploadsUntil(): number {
    return this.uploads.confirmingUntil();
  }

  async replicate(batch: UserBatch): Promise<UserOutcome> {
    for (let attempt = 0; ; attempt++) {
      let session: ReplicaSession;
      try {
        session = await this.connect();
      } catch (err) {
        return { ok: false, retryable: true, unreachable: true, error: `cannot connect: ${(err as Error).message}` };
      }
      try {
        await session.flow(() => executeBatch(session, batch.lines, { useCache: !batch.retry && this.cache !== null }));
        this.breaks = 0;
        this.breakDelays = null;
        return { ok: true };
      } catch (err) {
        if (isConnectionError(err)) this.noteBreak(session, err);
        if (isConnectionError(err) && attempt < MAX_RECONNECTS_PER_BATCH) {
          this.ctx.log('warning', `connection lost during ${batch.key}: ${(err as Error).message}; reconnecting`);
          continue;
        }
        return this.failure(batch, err);
      }
    }
  }

  /**
   * Counts each connection the replica broke once, however many batches it
   * failed. A drop of our own (an upload that failed on our side) has no
   * fault and does not count: waiting cannot help it.
   */
  private noteBreak(session: ReplicaSession, err: unknown): void {
    if (!(err instanceof SyncProtocolError) || err.fault === null) return;
    const connection = session.replica.connection;
    if (this.lastBroken?.connection === connection) return;
    this.breaks++;
    this.lastBroken = { connection, cause: (err as Error).message };
  }

  private async waitAfterBreaks(): Promise<void> {
    if (this.breaks < 2) return;
    const e = this.ctx.engine ?? {};
    this.breakDelays ??= retryDelaysSeconds(this.endpoint.reconnectMaxWaitMs / 1000, e.firstRetrySeconds);
    const seconds = this.breakDelays();
    // A pool must not count on this connection while it waits (attempted() clears it on success).
    this.lastConnectError = this.lastBroken?.cause ?? 'connection broke';
    if (this.reportConnectWaits()) {
      this.ctx.log('warning', `connection to server '${this.endpoint.serverName}' broke ${this.breaks} times in a row (last: ${this.lastBroken?.cause}); reconnecting in ${seconds} seconds`);
    }
    await abortableSleep(seconds * 1000, this.noMoreConnects.signal);
  }

  private async failure(batch: UserBatch, err: unknown): Promise<UserOutcome> {
    if (err instanceof UserLockedError) return { ok: false, retryable: true, error: err.message };
    if (err instanceof NeedsCyrusClientError) return this.copyback(batch, err);
    const message = err instanceof Error ? err.message : String(err);
    this.ctx.log('err', `IOERROR: user replication failed: ${batch.key}: ${message}`);
    return { ok: false, retryable: true, error: message };
  }

  private async copyback(batch: UserBatch, err: NeedsCyrusClientError): Promise<UserOutcome> {
    const client = copybackClient(this.config, this.ctx.channel);
    if (!client) {
      this.ctx.log('err', `SYNCERROR: ${err.message}; handing users to Cyrus's sync_client is disabled (syncmux_copyback_client), parking ${batch.key}`);
      return { ok: false, retryable: true, error: err.message };
    }
    this.ctx.log('notice', `${err.message}; handing ${batch.key} to ${client} -u`);
    const result = await runCopyback(client, {
      configFile: this.ctx.configFile, channel: this.ctx.channel, serverOverride: this.ctx.engine?.serverOverride,
      noCopyback: this.ctx.engine?.noCopyback, userid: batch.key,
    });
    if (result.ok) return { ok: true, handedOff: true };
    this.ctx.log('err', `SYNCERROR: ${client} -u ${batch.key} failed: ${result.detail}`);
    return { ok: false, retryable: true, error: result.detail };
  }

  /** The worker is stopping: waiting for the replica ends now (those batches fail as unreachable); batches on a live connection go on. */
  stopConnecting(): void {
    this.noMoreConnects.abort(new Error('stopping'));
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.flushTimer) clearInterval(this.flushTimer);
    this.flushCache();
    this.noMoreConnects.abort(new Error('engine closing'));
    const session = this.session;
    const connecting = this.connecting;
    this.session = null;
    if (session) await session.replica.connection.close();
    // An attempt under way when the engine closes would leave its socket open once it is up.
    if (connecting) {
      void connecting.then(
        (late) => {
          if (this.session === late) this.session = null;
          return late.replica.connection.close();
        },
        () => {},
      );
    }
  }
}

/** Debugging aid: SYNCMUX_TRACE_DIR=<dir> writes each shard's protocol trace to <dir>/trace.<shard>. */
function fileTrace(dir: string, shard: number): (d: '>' | '<', line: string) => void {
  const file = `${dir}/trace.${shard}`;
  return (d, line) => fs.appendFileSync(file, `${Date.now()} ${d} ${line.slice(0, 300)}\n`);
}

