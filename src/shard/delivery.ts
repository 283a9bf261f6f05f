/**
 * How one user's lines reach the replica, and what happens when they do
 * not. This is the failure-isolation policy: a user whose batch fails is
 * moved, with the failed lines, into the retry journal; from then on, and
 * until those lines are confirmed, every new line of that user queues
 * behind them in the journal, so the user's order holds while everyone
 * else keeps flowing. Skipped users are parked the same way, untried.
 *
 * Every method resolves only once its lines are confirmed by the replica
 * or durably in the journal: the runner's licence to drop them from
 * log-run.<i>.
 */
import type { Replicator, UserBatch, UserOutcome } from '../engine/index.js';
import type { SyncLogLine } from '../synclog/index.js';
import type { Backoff } from './backoff.js';
import type { ControlFiles } from './control-files.js';
import type { LogFn } from './log.js';
import type { RetryJournal } from './retry-journal.js';
import type { ShardStats } from './stats.js';

export interface DeliveryContext {
  readonly replicator: Replicator;
  readonly journal: RetryJournal;
  readonly control: ControlFiles;
  readonly backoff: Backoff;
  readonly stats: ShardStats;
  readonly log: LogFn;
  /** Told whenever a key in the journal may be tried at `dueMs`. */
  readonly onRetryDue: (dueMs: number) => void;
  /** True once the worker is stopping: a batch that then never reached the replica is no failure of its user. */
  readonly stopping?: () => boolean;
}

export class Delivery {
  constructor(private readonly context: DeliveryContext) {}

  /** A key's lines from the shard log, in log order. */
  async deliver(key: string, lines: readonly SyncLogLine[], bornMs: number): Promise<void> {
    const { journal, control, stats } = this.context;
    if (control.isSkipped(key)) return this.park(key, lines, bornMs);
    if (journal.has(key)) {
      stats.linesToRetry += lines.length;
      return journal.queue(key, lines, bornMs);
    }
    const outcome = await this.replicate({ key, lines: [...lines], retry: false });
    if (outcome.ok) return;
    const state = this.failed(key, 1, outcome);
    stats.linesToRetry += lines.length;
    await journal.queue(key, lines, bornMs, state);
    this.context.onRetryDue(state.dueMs);
  }

  /**
   * A copy of a line for a second user of it (a same-shard cross-user
   * RENAME): only if that user is held in the journal, so the line also
   * runs after that user's earlier, still-pending lines.
   */
  async deliverIfHeld(key: string, lines: readonly SyncLogLine[], bornMs: number): Promise<void> {
    const { journal, control } = this.context;
    if (control.isSkipped(key) || journal.has(key)) await this.deliver(key, lines, bornMs);
  }

  /** A full user sync requested by a resyncuser- file: behind the user's pending lines, if any, and due now. */
  async resync(key: string, userid: string): Promise<void> {
    const { journal, control, stats } = this.context;
    const line: SyncLogLine = { type: 'USER', args: [userid] };
    stats.resyncs++;
    if (control.isSkipped(key) || !journal.has(key)) return this.deliver(key, [line], Date.now());
    stats.linesToRetry++;
    await journal.queue(key, [line], Date.now(), { attempts: 0, dueMs: 0 });
    this.context.onRetryDue(0);
  }

  /** One attempt at the first (up to max) pending lines of a key in the journal. */
  async retry(key: string, max: number): Promise<void> {
    const { journal, control } = this.context;
    const queue = journal.queueOf(key);
    if (queue === undefined || control.isSkipped(key)) return;
    const attempts = queue.attempts;
    const lines = journal.readHead(key, max);
    if (lines.length === 0) return;
    const outcome = await this.replicate({ key, lines, retry: true });
    if (outcome.ok) {
      await journal.confirm(key, lines.length);
      if (journal.has(key)) this.context.onRetryDue(0);
      return;
    }
    const state = this.failed(key, attempts + 1, outcome);
    await journal.setState(key, state);
    this.context.onRetryDue(state.dueMs);
  }

  private async park(key: string, lines: readonly SyncLogLine[], bornMs: number): Promise<void> {
    const { stats, journal } = this.context;
    stats.linesToRetry += lines.length;
    stats.linesParked += lines.length;
    await journal.queue(key, lines, bornMs);
  }

  private failed(key: string, attempts: number, outcome: Extract<UserOutcome, { ok: false }>): { attempts: number; dueMs: number } {
    if (outcome.unreachable && this.context.stopping?.()) {
      // Cut short by the stop: kept in the journal, due at once on the next start, no attempt counted.
      this.context.log('info', `user ${JSON.stringify(key)}: not replicated before the stop; kept in the retry journal`);
      return { attempts: attempts - 1, dueMs: 0 };
    }
    const delay = this.context.backoff.delayMs(attempts, outcome.retryable);
    const priority = !outcome.retryable ? 'err' : attempts === 1 ? 'warning' : 'info';
    this.context.log(priority, `user ${JSON.stringify(key)} failed (attempt ${attempts}${outcome.retryable ? '' : ', not retryable'}): ${outcome.error}; next try in ${Math.round(delay / 1000)} s`);
    return { attempts, dueMs: Date.now() + delay };
  }

  private async replicate(batch: UserBatch): Promise<UserOutcome> {
    const { stats, replicator } = this.context;
    stats.inFlight++;
    let outcome: UserOutcome;
    try {
      outcome = await replicator.replicate(batch);
    } catch (error) {
      outcome = { ok: false, retryable: true, error: error instanceof Error ? error.message : String(error) };
    }
    stats.inFlight--;
    stats.lastActivityMs = Date.now();
    if (outcome.ok) {
      stats.usersOk++;
      stats.linesDone += batch.lines.length;
      if (outcome.handedOff) stats.handoffs++;
    } else {
      stats.usersFailed++;
    }
    stats.uploadsConfirmedUntilMs = this.context.replicator.confirmingUploadsUntil?.() ?? 0;
    return outcome;
  }
}
