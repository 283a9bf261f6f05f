/**
 * One pass over one sync-log file with a Replicator, unsharded (the drop-in's
 * rolling pass and `-f`; the daemon uses the shard workers instead): group
 * the file (log-groups.ts), then replicate the groups concurrently, each
 * after the groups it depends on, and report what was not confirmed.
 */
import type { RouteOptions } from '../synclog/index.js';
import { groupFile, linesOf, type GroupedLog, type GroupOptions } from './log-groups.js';
import type { Replicator, UserOutcome } from './replicator.js';

export interface PassResult {
  lines: number;
  malformed: GroupedLog['malformed'];
  failed: Array<{ key: string; error: string; unreachable?: boolean }>;
  /** The raw lines of the failed groups, in log order: what to re-queue. */
  unconfirmed: string[];
}

/**
 * Batches handed to the replicator at once. Enough to keep every connection
 * of the pool pipelined; few enough that a backlog of a million batches is
 * parsed a slice at a time rather than all at the start.
 */
export const BATCHES_IN_FLIGHT = 512;

/**
 * Replicates every group, each after the groups it depends on; resolves when
 * every group is confirmed or failed. Groups become ready in log order once
 * what they depend on is done, and at most `inFlight` ready groups run at a
 * time, so a waiting group never holds a place the groups it waits for need.
 * A group after a failed one fails without being sent. A confirmed group's
 * lines are let go. Bookkeeping is a few integers per group: a backlog can
 * hold a hundred thousand groups.
 */
export function replicateGroups(grouped: GroupedLog, replicator: Replicator, inFlight = BATCHES_IN_FLIGHT): Promise<PassResult> {
  const { groups } = grouped;
  const waitingOn = new Int32Array(groups.length);
  const doomed = new Uint8Array(groups.length);
  // Who waits for whom, as one flat list (CSR): an array per group cost megabytes over a large backlog.
  const depStart = new Int32Array(groups.length + 1);
  for (const g of groups) for (const j of g.after) depStart[j + 1]!++;
  for (let i = 0; i < groups.length; i++) depStart[i + 1]! += depStart[i]!;
  const depList = new Int32Array(depStart[groups.length]!);
  const depFill = depStart.slice(0, groups.length);
  /** Only the failures' outcomes are kept: a backlog can hold a hundred thousand confirmed groups. */
  const failures = new Map<number, UserOutcome & { ok: false }>();
  const ready = new IndexQueue();
  groups.forEach((g, i) => {
    waitingOn[i] = g.after.length;
    for (const j of g.after) depList[depFill[j]!++] = i;
    if (g.after.length === 0) ready.push(i);
  });
  return new Promise((resolve, reject) => {
    let running = 0;
    let finished = 0;
    const finish = (first: number, firstOutcome: UserOutcome): void => {
      // Iterative: a failure can doom a long chain of one user's later groups.
      const settled: Array<[number, UserOutcome]> = [[first, firstOutcome]];
      for (let next = settled.pop(); next; next = settled.pop()) {
        const [i, outcome] = next;
        if (!outcome.ok) failures.set(i, outcome);
        finished++;
        if (outcome.ok) groups[i]!.lines = [];
        for (let k = depStart[i]!; k < depStart[i + 1]!; k++) {
          const d = depList[k]!;
          if (!outcome.ok) doomed[d] = 1;
          if (--waitingOn[d]! > 0) continue;
          if (doomed[d]) settled.push([d, { ok: false, retryable: true, error: 'an earlier batch of this user failed' }]);
          else ready.push(d);
        }
      }
    };
    const pump = (): void => {
      try {
        while (running < inFlight && ready.size > 0) {
          const i = ready.shift();
          const g = groups[i]!;
          running++;
          replicator.replicate({ key: g.key, lines: linesOf(g), retry: false }).then((outcome) => {
            running--;
            finish(i, outcome);
            pump();
          }, reject);
        }
        if (finished === groups.length) resolve(passResult(grouped, failures));
      } catch (err) {
        reject(err);
      }
    };
    pump();
  });
}

function passResult(grouped: GroupedLog, failures: ReadonlyMap<number, UserOutcome & { ok: false }>): PassResult {
  const failed: PassResult['failed'] = [];
  const unconfirmed: string[] = [];
  [...failures.keys()].sort((a, b) => a - b).forEach((i) => {
    const o = failures.get(i)!;
    const g = grouped.groups[i]!;
    failed.push({ key: g.key, error: o.error, ...(o.unreachable ? { unreachable: true } : {}) });
    for (const line of g.lines) unconfirmed.push(line);
  });
  return { lines: grouped.count, malformed: grouped.malformed, failed, unconfirmed };
}

/** Replicates a whole file. */
export async function replicateFile(file: string, replicator: Replicator, route: RouteOptions = {}, options: GroupOptions = {}): Promise<PassResult> {
  return replicateGroups(await groupFile(file, route, options), replicator);
}

/** A FIFO of group indexes (a moving head: Array#shift is O(n)). */
class IndexQueue {
  private items: number[] = [];
  private head = 0;

  get size(): number {
    return this.items.length - this.head;
  }

  push(i: number): void {
    this.items.push(i);
  }

  shift(): number {
    const i = this.items[this.head++]!;
    if (this.head > 4096 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return i;
  }
}
