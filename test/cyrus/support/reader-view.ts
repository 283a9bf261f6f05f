/**
 * The reader's side of the real-master comparisons: the config, every
 * mailboxes.db entry, snapshots of the live mailboxes (taken under Cyrus's
 * locks, released at once), and root-ownership listings of the master's
 * trees. Shared by the plain and the virtual-domain suites.
 */
import fs from 'node:fs';
import path from 'node:path';
import {
  entryState, listQuotaRoots, loadConfig, Mboxlist, readQuota, readUserSeen, readUserSubscriptions, takeMailboxSnapshot,
  type CyrusConfig, type MailboxSnapshot, type MbEntry,
} from '../../../src/cyrus/index.js';
import type { CyrusLab } from '../../../lab/cyrus-lab.js';

export interface ReaderView {
  cfg: CyrusConfig;
  entries: MbEntry[];
  /** Snapshots of every live entry, by internal name. */
  snapshots: Map<string, MailboxSnapshot>;
}

export async function readerView(lab: CyrusLab): Promise<ReaderView> {
  const cfg = loadConfig(lab.master.paths.imapdConf);
  const entries = [...(await Mboxlist.open(cfg)).entries()];
  const snapshots = new Map<string, MailboxSnapshot>();
  for (const e of entries) {
    if (entryState(e) !== 'live') continue;
    const h = await takeMailboxSnapshot(cfg, e.name);
    h.release();
    snapshots.set(e.name, h.snapshot);
  }
  return { cfg, entries, snapshots };
}

/** Every read the reader offers, once: snapshots, then each user's seen and subscriptions, then quota. */
export async function readEverything(lab: CyrusLab, users: readonly string[]): Promise<ReaderView> {
  const view = await readerView(lab);
  const ml = await Mboxlist.open(view.cfg);
  for (const u of users) {
    await readUserSeen(view.cfg, ml, u);
    await readUserSubscriptions(view.cfg, ml, u);
  }
  for (const root of listQuotaRoots(view.cfg)) readQuota(view.cfg, root);
  return view;
}

/** Paths under `roots` owned by uid 0 (lstat: a link's own owner). */
export function rootOwned(roots: readonly string[]): string[] {
  const out: string[] = [];
  const walk = (p: string): void => {
    const st = fs.lstatSync(p, { throwIfNoEntry: false });
    if (!st) return;
    if (st.uid === 0) out.push(p);
    if (st.isDirectory()) for (const n of fs.readdirSync(p)) walk(path.join(p, n));
  };
  for (const r of roots) walk(r);
  return out.sort();
}

/** The master's trees Cyrus (and so the reader) works in. */
export const masterTrees = (lab: CyrusLab): string[] => [lab.master.paths.configDirectory, lab.master.paths.spool, lab.master.paths.sieveDir];

/** Files directly in the lock directory (where the harness's Cyrus keeps them). */
export function lockFiles(cfg: CyrusConfig): string[] {
  return fs.readdirSync(cfg.lockDirectory, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.lock')).sort();
}
