/**
 * The sync cache: what we last confirmed the replica holds for each mailbox
 * (the MAILBOX state without records), so a steady-state change needs no
 * GET MAILBOXES. It is safe to be stale: every APPLY MAILBOX built from it
 * carries SINCE_MODSEQ/SINCE_CRC*, so the replica refuses a delta against a
 * state it no longer has (IMAP_SYNC_CHANGED) and we fall back to a fresh GET.
 * Entries are dropped on any error, rename, delete or CHECKSUM; whole-user
 * syncs and resyncs bypass the cache; and each entry expires after the
 * verification interval (default a day, spread over mailboxes) so drift is
 * caught even where nothing changes.
 *
 * Persisted per channel and shard as a JSON file replaced atomically; a lost
 * or old file only costs GET MAILBOXES round trips.
 */
import fs from 'node:fs';
import path from 'node:path';
import { hash64 } from '../native/index.js';
import { chownToCyrus } from './cyrus-owner.js';
import type { ReplicaMailbox } from './replica-mailbox.js';

interface Entry {
  state: ReplicaMailbox;
  /** When the replica last told us this state itself (GET), ms since the epoch. */
  verifiedAt: number;
}

export interface SyncCacheOptions {
  /** Where to persist; null keeps it in memory only. */
  file: string | null;
  /** Entries older than this (plus a per-name spread) count as misses. Default 24 h. */
  verifyIntervalMs?: number;
  now?: () => number;
}

type Stored = Omit<ReplicaMailbox, 'highestModseq' | 'foldermodseq' | 'xconvmodseq' | 'raclmodseq'> & { highestModseq: string; foldermodseq: string | null; xconvmodseq?: string; raclmodseq?: string | null };

export class SyncCache {
  private readonly entries = new Map<string, Entry>();
  private dirty = false;
  private readonly verifyMs: number;
  private readonly now: () => number;
  readonly stats = { hits: 0, misses: 0, expired: 0 };

  constructor(private readonly o: SyncCacheOptions) {
    this.verifyMs = o.verifyIntervalMs ?? 24 * 3600_000;
    this.now = o.now ?? Date.now;
    if (o.file) this.load(o.file);
  }

  get(name: string): ReplicaMailbox | undefined {
    const e = this.entries.get(name);
    if (!e) {
      this.stats.misses++;
      return undefined;
    }
    // Spread expiry over [interval, 2*interval) so a day's verifications don't all land at once.
    const spread = Number(hash64(name) % 1000n) / 1000;
    if (this.now() - e.verifiedAt > this.verifyMs * (1 + spread)) {
      this.stats.expired++;
      this.entries.delete(name);
      this.dirty = true;
      return undefined;
    }
    this.stats.hits++;
    return e.state;
  }

  /** After a GET: the replica said so itself. */
  verified(state: ReplicaMailbox): void {
    this.entries.set(state.name, { state, verifiedAt: this.now() });
    this.dirty = true;
  }

  /** After a confirmed APPLY MAILBOX: keeps the time it was last verified. */
  applied(state: ReplicaMailbox): void {
    const verifiedAt = this.entries.get(state.name)?.verifiedAt ?? this.now();
    this.entries.set(state.name, { state, verifiedAt });
    this.dirty = true;
  }

  drop(name: string): void {
    if (this.entries.delete(name)) this.dirty = true;
  }

  get size(): number {
    return this.entries.size;
  }

  private load(file: string): void {
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch {
      return;
    }
    try {
      const data = JSON.parse(text) as Record<string, { s: Stored; v: number }>;
      for (const [name, { s, v }] of Object.entries(data)) {
        this.entries.set(name, {
          // x/raclmodseq: absent in files written before they were kept; 0 only costs a resend.
          state: {
            ...s,
            highestModseq: BigInt(s.highestModseq),
            foldermodseq: s.foldermodseq === null ? null : BigInt(s.foldermodseq),
            xconvmodseq: BigInt(s.xconvmodseq ?? '0'),
            raclmodseq: s.raclmodseq == null ? null : BigInt(s.raclmodseq),
          },
          verifiedAt: v,
        });
      }
    } catch {
      this.entries.clear(); // a damaged cache is just an empty one
    }
  }

  /** Writes the cache if it changed (temp file + rename). */
  flush(): void {
    if (!this.o.file || !this.dirty) return;
    const out: Record<string, { s: Stored; v: number }> = {};
    for (const [name, e] of this.entries) {
      out[name] = {
        s: {
          ...e.state,
          highestModseq: e.state.highestModseq.toString(),
          foldermodseq: e.state.foldermodseq?.toString() ?? null,
          xconvmodseq: e.state.xconvmodseq.toString(),
          raclmodseq: e.state.raclmodseq?.toString() ?? null,
        },
        v: e.verifiedAt,
      };
    }
    const tmp = `${this.o.file}.tmp`;
    fs.mkdirSync(path.dirname(this.o.file), { recursive: true });
    fs.writeFileSync(tmp, JSON.stringify(out), { mode: 0o640 });
    chownToCyrus(tmp);
    fs.renameSync(tmp, this.o.file);
    this.dirty = false;
  }
}
