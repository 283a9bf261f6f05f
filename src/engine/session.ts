/**
 * Per-connection replication state shared by every sync flow of a worker:
 * the replica client, which GUIDs are already staged on the replica in this
 * epoch (staged files live until RESTART, keyed by partition and GUID), and
 * when RESTART may be sent: only when no flow is in flight, because a
 * RESTART discards files another flow has uploaded but not yet applied.
 * Stock sends one after every user; we send it once the connection has been
 * idle for 10 s (or 1000 files are staged), so it never costs a busy flow
 * a round trip. Staged files are hard links, so waiting costs no disk.
 */
import { type CyrusConfig, ContentMemo, DbMemos, type MailboxHeader, Mboxlist } from '../cyrus/index.js';
import type { ReplicaClient } from '../protocol/index.js';
import { ParsedLineRouter } from '../synclog/index.js';
import type { ReplicatorContext } from './replicator.js';
import type { SyncCache } from './sync-cache.js';
import { UploadPipelining } from './upload-pipelining.js';
import type { UploadCaps } from './rate-limit.js';

export type Log = ReplicatorContext['log'];

export interface SessionOptions {
  /** -p: destination partition on the replica. */
  partition?: string;
  /** The sync server string (-S or sync_host): part of the sync lock name. */
  serverName: string;
  /** -O: never repair; CHECKSUM after the retry is final. */
  noCopyback: boolean;
  /** -N: skip users locked by another sync_client instead of waiting. */
  nonBlocking: boolean;
  /** Messages smaller than this (up to 16 of these in bytes per folder update) are sent without asking APPLY RESERVE first. */
  reserveThreshold: number;
  /** Wait for each APPLY MESSAGE's answer before the APPLY MAILBOX that needs it (stock's way; the drop-in's object modes). */
  confirmUploads?: boolean;
  /** The engine's stop: waits for the master's locks end with it instead of running to their timeout. */
  stopSignal?: AbortSignal;
}

export class ReplicaSession {
  private readonly staged = new Set<string>();
  private flowsInFlight = 0;
  private restartWanted = false;
  private restartTimer: NodeJS.Timeout | null = null;
  /** What this session read of the master's databases, reused while they are unchanged. */
  readonly dbMemos = new DbMemos();
  /** cyrus.header files decoded by this session, by content. */
  readonly headerMemo = new ContentMemo<MailboxHeader>();
  /** Routes the batch's lines to their users, with this master's naming rules. */
  readonly router: ParsedLineRouter;
  static readonly RESTART_IDLE_MS = 10_000;
  static readonly RESTART_STAGED_FILES = 1000;

  constructor(
    readonly config: CyrusConfig,
    readonly replica: ReplicaClient,
    readonly options: SessionOptions,
    readonly log: Log,
    readonly cache: SyncCache | null = null,
    readonly uploads: UploadPipelining = new UploadPipelining(),
    /** syncmux_max_bytes/messages_per_second, shared by the process; null when uncapped. */
    readonly caps: UploadCaps | null = null,
  ) {
    this.router = new ParsedLineRouter({ deletedPrefix: config.deletedPrefix, defaultDomain: config.defaultDomain });
  }

  /** mailboxes.db lookups (Mboxlist.query) through this session's memo; fn must only read. */
  mboxlist<T>(fn: (ml: Mboxlist) => T): Promise<T> {
    return Mboxlist.query(this.config, fn, { memos: this.dbMemos, signal: this.options.stopSignal });
  }

  isStaged(partition: string, guid: string): boolean {
    return this.staged.has(`${partition}\0${guid}`);
  }

  markStaged(partition: string, guid: string): void {
    this.staged.add(`${partition}\0${guid}`);
  }

  /** After a failed upload: the replica may not hold it, so it must be sent again. */
  unmarkStaged(partition: string, guid: string): void {
    this.staged.delete(`${partition}\0${guid}`);
  }

  /** Wraps one flow so RESTART is only sent between flows. */
  async flow<T>(fn: () => Promise<T>): Promise<T> {
    this.flowsInFlight++;
    try {
      return await fn();
    } finally {
      this.flowsInFlight--;
      if (this.flowsInFlight === 0 && this.restartWanted) this.scheduleRestart();
    }
  }

  private scheduleRestart(): void {
    if (this.staged.size >= ReplicaSession.RESTART_STAGED_FILES) {
      void this.restartNow();
      return;
    }
    this.restartTimer ??= setTimeout(() => {
      this.restartTimer = null;
      if (this.flowsInFlight === 0 && this.restartWanted) void this.restartNow();
      else if (this.restartWanted) this.scheduleRestart();
    }, ReplicaSession.RESTART_IDLE_MS).unref();
  }

  /** Asks for a RESTART once no flow is running (stock sends one after each user). */
  requestRestart(): void {
    this.restartWanted = true;
  }

  private async restartNow(): Promise<void> {
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.restartTimer = null;
    this.restartWanted = false;
    this.staged.clear();
    try {
      await this.replica.restart();
    } catch (err) {
      // A connection that is going away takes its staged files with it anyway.
      if (!this.replica.connection.failure) this.log('warning', `RESTART failed: ${(err as Error).message}`);
    }
  }
}
