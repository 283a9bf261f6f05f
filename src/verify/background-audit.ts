/**
 * The daemon's background audit: `syncmux verify --all`, spread out. Every
 * `syncmux_verify_interval` seconds (the same key that bounds how long the
 * sync cache trusts a replica state; default one day) it walks every user
 * and the shared mailboxes once, spacing them evenly over the interval but
 * never faster than `syncmux_verify_rate` subjects per second, the knob
 * that bounds the extra load (GET USER on the replica, index reads on the
 * master). It is off unless that rate is set above 0, because it costs one
 * more replica connection (count it within the replica's maxchild).
 * A subject that differs is checked again after RECHECK_MS (its changes
 * may still be in the shard logs); what still differs is logged (warning)
 * and kept in the status; with `syncmux_verify_repair: yes` the user's full
 * resync is requested. Read-only, like the command: its connection refuses
 * APPLY.
 */
import { channelSetting, type CyrusConfig } from '../cyrus/index.js';
import type { ReplicaClient } from '../protocol/index.js';
import { formatDivergence } from './divergence.js';
import { openReadOnlyReplica } from './read-only-replica.js';
import { queueResyncs } from './repair.js';
import { allSubjects, auditSettled, type Subject } from './subjects.js';

const RECHECK_MS = 10_000;
/** Diverging users kept by name in the status (the count is always exact). */
const MAX_LISTED = 100;
const RETRY_MS = 30_000;

/** Where findings go (the daemon's syslog logger). */
export interface AuditLog {
  log(priority: 'err' | 'warning' | 'notice' | 'info', message: string): void;
}

export interface AuditSettings {
  intervalMs: number;
  /** Subjects per second at most. */
  rate: number;
  repair: boolean;
}

export interface AuditStatus {
  cycles: number;
  cycleStartedMs: number;
  subjectsInCycle: number;
  checkedInCycle: number;
  checkedTotal: number;
  divergingCount: number;
  /** Up to MAX_LISTED diverging users, each with its first divergence. */
  diverging: Array<{ user: string; divergences: number; first: string; sinceMs: number }>;
  resyncsRequested: number;
  lastError: string | null;
}

/** The settings, or null when the audit is off (syncmux_verify_rate unset or 0). */
export function auditSettings(config: CyrusConfig, channel: string | null): AuditSettings | null {
  const rate = Number(channelSetting(config, channel, 'syncmux_verify_rate') ?? 0);
  if (!Number.isFinite(rate) || rate <= 0) return null;
  const interval = Number(channelSetting(config, channel, 'syncmux_verify_interval') ?? 86400);
  const repair = /^(1|yes|on|true)$/i.test(channelSetting(config, channel, 'syncmux_verify_repair') ?? 'no');
  return { intervalMs: Math.max(1, Number.isFinite(interval) ? interval : 86400) * 1000, rate, repair };
}

export class BackgroundAudit {
  private readonly stopping = new AbortController();
  private replica: ReplicaClient | null = null;
  private readonly divergingUsers = new Map<string, AuditStatus['diverging'][number]>();
  private readonly state = { cycles: 0, cycleStartedMs: 0, subjectsInCycle: 0, checkedInCycle: 0, checkedTotal: 0, resyncsRequested: 0, lastError: null as string | null };
  private readonly running: Promise<void>;

  constructor(
    private readonly config: CyrusConfig,
    private readonly channel: string | null,
    private readonly channelDir: string,
    private readonly settings: AuditSettings,
    private readonly log: AuditLog,
  ) {
    this.running = this.loop().catch((err: unknown) => this.log.log('err', `background verify stopped: ${(err as Error).message}`));
  }

  status(): AuditStatus {
    return { ...this.state, divergingCount: this.divergingUsers.size, diverging: [...this.divergingUsers.values()].slice(0, MAX_LISTED) };
  }

  async stop(): Promise<void> {
    this.stopping.abort();
    await this.running;
    await this.replica?.connection.close();
  }

  private async loop(): Promise<void> {
    const signal = this.stopping.signal;
    while (!signal.aborted) {
      let subjects: Subject[];
      try {
        subjects = await allSubjects(this.config, { signal });
      } catch (err) {
        if (signal.aborted) return; // a stop ended the wait for mailboxes.db's lock
        throw err;
      }
      const spacingMs = Math.max(this.settings.intervalMs / Math.max(1, subjects.length), 1000 / this.settings.rate);
      Object.assign(this.state, { cycleStartedMs: Date.now(), subjectsInCycle: subjects.length, checkedInCycle: 0 });
      const present = new Set(subjects.map((s) => s.user));
      for (const user of this.divergingUsers.keys()) if (!present.has(user)) this.divergingUsers.delete(user);
      for (const subject of subjects) {
        await sleep(spacingMs, signal);
        if (signal.aborted) return;
        await this.check(subject);
      }
      if (subjects.length === 0) await sleep(this.settings.intervalMs, signal);
      this.state.cycles++;
    }
  }

  private async check(subject: Subject): Promise<void> {
    const signal = this.stopping.signal;
    try {
      this.replica ??= await openReadOnlyReplica(this.config, this.channel, { signal });
      const found = await auditSettled({ config: this.config, replica: this.replica }, subject, RECHECK_MS, signal);
      if (signal.aborted) return;
      this.state.checkedInCycle++;
      this.state.checkedTotal++;
      this.state.lastError = null;
      if (found.length === 0) {
        this.divergingUsers.delete(subject.user);
        return;
      }
      const known = this.divergingUsers.get(subject.user);
      this.divergingUsers.set(subject.user, { user: subject.user, divergences: found.length, first: formatDivergence(found[0]!), sinceMs: known?.sinceMs ?? Date.now() });
      for (const d of found) this.log.log('warning', `verify: ${formatDivergence(d)}`);
      if (this.settings.repair) {
        const queued = queueResyncs(this.channelDir, [subject.user]);
        this.state.resyncsRequested += queued.length;
        if (queued.length) this.log.log('notice', `verify: requested a full resync of ${subject.user}`);
      }
    } catch (err) {
      if (signal.aborted) return;
      const message = (err as Error).message;
      if (message !== this.state.lastError) this.log.log('warning', `background verify of ${subject.user}: ${message}; retrying in ${RETRY_MS / 1000} s`);
      this.state.lastError = message;
      const replica = this.replica;
      this.replica = null;
      await replica?.connection.close().catch(() => {});
      await sleep(RETRY_MS, signal);
    }
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
  });
}
