/**
 * One pass over one sync-log file with a Replicator, unsharded: parse every
 * line, group by owner key (keeping each key's order; a cross-user line is
 * given to its first owner after both owners' earlier lines are done), and
 * replicate the groups concurrently. A line repeated within a group is kept
 * once, as the batch's plan would collapse it anyway (plan.ts): a day's
 * backlog of millions of APPENDs then costs memory per mailbox, not per line. Used by `syncmux-client -f` / `-1` and
 * by tests; the sharded daemon uses the shard workers instead.
 */
import fs from 'node:fs';
import { parseLine, routeLine, type RouteOptions, type SyncLogLine } from '../synclog/index.js';
import type { Replicator, UserOutcome } from './replicator.js';

export interface PassResult {
  lines: number;
  malformed: Array<{ line: string; reason: string }>;
  failed: Array<{ key: string; error: string; unreachable?: boolean }>;
}

/** Splits the text into per-key segments; a multi-user line closes a segment for both keys. */
export function groupLines(text: Buffer, routeOptions: RouteOptions): { groups: Array<{ key: string; lines: SyncLogLine[]; after: number[] }>; malformed: PassResult['malformed']; count: number } {
  const groups: Array<{ key: string; lines: SyncLogLine[]; after: number[] }> = [];
  const openGroup = new Map<string, number>();
  const linesInGroup = new Map<number, Set<string>>();
  const lastGroup = new Map<string, number>();
  const malformed: PassResult['malformed'] = [];
  let count = 0;
  let start = 0;
  while (start < text.length) {
    let end = text.indexOf(0x0a, start);
    if (end < 0) end = text.length;
    const parsed = parseLine(text, start, end);
    const raw = text.toString('latin1', start, end);
    start = end + 1;
    if (!parsed.ok) {
      if (parsed.error.reason !== 'blank') malformed.push({ line: raw, reason: parsed.error.detail });
      continue;
    }
    count++;
    const route = routeLine(parsed.line, routeOptions);
    if (route.kind === 'single') {
      let g = openGroup.get(route.key);
      if (g === undefined) {
        g = groups.push({ key: route.key, lines: [], after: lastGroup.has(route.key) ? [lastGroup.get(route.key)!] : [] }) - 1;
        openGroup.set(route.key, g);
        lastGroup.set(route.key, g);
        linesInGroup.set(g, new Set());
      }
      const seen = linesInGroup.get(g)!;
      if (seen.has(raw)) continue;
      seen.add(raw);
      groups[g]!.lines.push(parsed.line);
      continue;
    }
    // A cross-user line runs after everything either owner had before it, and before what follows.
    const [a, b] = route.keys;
    const after = [a, b].map((k) => lastGroup.get(k)).filter((g): g is number => g !== undefined);
    const g = groups.push({ key: a, lines: [parsed.line], after }) - 1;
    for (const k of [a, b]) {
      const closed = openGroup.get(k);
      if (closed !== undefined) linesInGroup.delete(closed);
      openGroup.delete(k);
      lastGroup.set(k, g);
    }
  }
  return { groups, malformed, count };
}

/** Replicates a whole file; resolves when every group is confirmed or failed. */
export function replicateFile(file: string, replicator: Replicator, route: RouteOptions = {}): Promise<PassResult> {
  return replicateText(fs.readFileSync(file), replicator, route);
}

/** Replicates the lines of a log already read. */
export async function replicateText(text: Buffer, replicator: Replicator, route: RouteOptions = {}): Promise<PassResult> {
  const { groups, malformed, count } = groupLines(text, route);
  const done: Array<Promise<UserOutcome>> = [];
  const failed: PassResult['failed'] = [];
  groups.forEach((g, i) => {
    done[i] = Promise.all(g.after.map((j) => done[j])).then(async (before) => {
      if (before.some((o) => o && !o.ok)) return { ok: false, retryable: true, error: 'an earlier batch of this user failed' };
      return replicator.replicate({ key: g.key, lines: g.lines, retry: false });
    });
  });
  const outcomes = await Promise.all(done);
  outcomes.forEach((o, i) => {
    if (!o.ok) failed.push({ key: groups[i]!.key, error: o.error, ...(o.unreachable ? { unreachable: true } : {}) });
  });
  return { lines: count, malformed, failed };
}
