/**
 * One pass over one sync-log file with a Replicator, unsharded (the drop-in's
 * rolling pass and `-f`; the daemon uses the shard workers instead): read the
 * file in bounded chunks, group its lines by owner key, keeping each key's
 * order (a cross-user line is given to its first owner after both owners'
 * earlier lines are done), and replicate the groups concurrently.
 *
 * A group keeps its raw lines, each distinct line once: the batch's plan
 * collapses repeats anyway (plan.ts), and a day's backlog of millions of
 * APPENDs then costs memory per distinct line, not per line. Lines are
 * parsed again when their group is replicated.
 */
import { parseLine, routeLine, type RouteOptions, type SyncLogLine } from '../synclog/index.js';
import { LINE_END, LineReader } from '../synclog/line-reader.js';
import type { Replicator, UserOutcome } from './replicator.js';

/** One batch for one owner: its distinct raw lines (latin1, no LF) in first-seen order. */
export interface LineGroup {
  key: string;
  lines: Set<string>;
  /** Indexes of the groups that must be confirmed first. */
  after: number[];
}

export interface GroupedLog {
  groups: LineGroup[];
  malformed: Array<{ line: string; reason: string }>;
  /** Well-formed lines read, repeats included. */
  count: number;
}

export interface PassResult {
  lines: number;
  malformed: GroupedLog['malformed'];
  failed: Array<{ key: string; error: string; unreachable?: boolean }>;
  /** The raw lines of the failed groups, in log order: what to re-queue. */
  unconfirmed: string[];
}

/** Builds a GroupedLog line by line; a multi-user line closes the open group of both keys. */
export class LogGrouper {
  private readonly groups: LineGroup[] = [];
  private readonly openGroup = new Map<string, number>();
  private readonly lastGroup = new Map<string, number>();
  private readonly malformed: GroupedLog['malformed'] = [];
  private count = 0;

  constructor(private readonly route: RouteOptions) {}

  add(text: Buffer, start: number, end: number): void {
    const parsed = parseLine(text, start, end);
    if (!parsed.ok) {
      if (parsed.error.reason !== 'blank') this.malformed.push({ line: text.toString('latin1', start, end), reason: parsed.error.detail });
      return;
    }
    this.count++;
    const raw = text.toString('latin1', start, end);
    const route = routeLine(parsed.line, this.route);
    if (route.kind === 'single') {
      let g = this.openGroup.get(route.key);
      if (g === undefined) {
        const last = this.lastGroup.get(route.key);
        g = this.groups.push({ key: route.key, lines: new Set(), after: last === undefined ? [] : [last] }) - 1;
        this.openGroup.set(route.key, g);
        this.lastGroup.set(route.key, g);
      }
      this.groups[g]!.lines.add(raw);
      return;
    }
    // A cross-user line runs after everything either owner had before it, and before what follows.
    const [a, b] = route.keys;
    const after = [a, b].map((k) => this.lastGroup.get(k)).filter((g): g is number => g !== undefined);
    const g = this.groups.push({ key: a, lines: new Set([raw]), after: [...new Set(after)] }) - 1;
    for (const k of [a, b]) {
      this.openGroup.delete(k);
      this.lastGroup.set(k, g);
    }
  }

  addMalformed(line: string, reason: string): void {
    this.malformed.push({ line, reason });
  }

  result(): GroupedLog {
    return { groups: this.groups, malformed: this.malformed, count: this.count };
  }
}

/** Groups a log held in memory. */
export function groupLines(text: Buffer, route: RouteOptions): GroupedLog {
  const grouper = new LogGrouper(route);
  for (let start = 0; start < text.length; ) {
    let end = text.indexOf(0x0a, start);
    if (end < 0) end = text.length;
    grouper.add(text, start, end);
    start = end + 1;
  }
  return grouper.result();
}

/** Groups a log file, reading it in bounded chunks. */
export async function groupFile(file: string, route: RouteOptions): Promise<GroupedLog> {
  const grouper = new LogGrouper(route);
  const reader = await LineReader.open(file);
  try {
    for (let batch = await reader.next(); batch !== null; batch = await reader.next()) {
      for (let i = 0; i < batch.count; i++) {
        if (batch.endings[i] === LINE_END.OVERSIZED) {
          grouper.addMalformed(`${batch.buf.toString('latin1', batch.starts[i]!, batch.starts[i]! + 200)}…`, `line of ${batch.oversizedLength} bytes`);
        } else {
          grouper.add(batch.buf, batch.starts[i]!, batch.ends[i]!);
        }
      }
    }
  } finally {
    await reader.close();
  }
  return grouper.result();
}

/** A group's lines, parsed again (they parsed when grouped). */
export function linesOf(group: LineGroup): SyncLogLine[] {
  return Array.from(group.lines, (raw) => {
    const bytes = Buffer.from(raw, 'latin1');
    const parsed = parseLine(bytes, 0, bytes.length);
    if (!parsed.ok) throw new Error(`line no longer parses: ${raw}`);
    return parsed.line;
  });
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
  const dependents: Array<number[] | undefined> = [];
  const outcomes: UserOutcome[] = [];
  const ready = new IndexQueue();
  groups.forEach((g, i) => {
    waitingOn[i] = g.after.length;
    for (const j of g.after) (dependents[j] ??= []).push(i);
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
        outcomes[i] = outcome;
        finished++;
        if (outcome.ok) groups[i]!.lines = new Set();
        for (const d of dependents[i] ?? []) {
          if (!outcome.ok) doomed[d] = 1;
          if (--waitingOn[d]! > 0) continue;
          if (doomed[d]) settled.push([d, { ok: false, retryable: true, error: 'an earlier batch of this user failed' }]);
          else ready.push(d);
        }
        dependents[i] = undefined;
      }
    };
    const pump = (): void => {
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
      if (finished === groups.length) resolve(passResult(grouped, outcomes));
    };
    pump();
  });
}

function passResult(grouped: GroupedLog, outcomes: UserOutcome[]): PassResult {
  const failed: PassResult['failed'] = [];
  const unconfirmed: string[] = [];
  outcomes.forEach((o, i) => {
    if (o.ok) return;
    const g = grouped.groups[i]!;
    failed.push({ key: g.key, error: o.error, ...(o.unreachable ? { unreachable: true } : {}) });
    for (const line of g.lines) unconfirmed.push(line);
  });
  return { lines: grouped.count, malformed: grouped.malformed, failed, unconfirmed };
}

/** Replicates a whole file. */
export async function replicateFile(file: string, replicator: Replicator, route: RouteOptions = {}): Promise<PassResult> {
  return replicateGroups(await groupFile(file, route), replicator);
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
