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
 * every group is confirmed or failed. A group takes one of `inFlight` slots
 * only once what it depends on is done, so waiting groups never starve the
 * ones they wait for. A confirmed group's lines are let go.
 */
export async function replicateGroups(grouped: GroupedLog, replicator: Replicator, inFlight = BATCHES_IN_FLIGHT): Promise<PassResult> {
  const { groups } = grouped;
  const slots = new Slots(inFlight);
  const done: Array<Promise<UserOutcome>> = [];
  groups.forEach((g, i) => {
    done[i] = Promise.all(g.after.map((j) => done[j])).then(async (before): Promise<UserOutcome> => {
      if (before.some((o) => o && !o.ok)) return { ok: false, retryable: true, error: 'an earlier batch of this user failed' };
      await slots.take();
      try {
        const outcome = await replicator.replicate({ key: g.key, lines: linesOf(g), retry: false });
        if (outcome.ok) g.lines = new Set();
        return outcome;
      } finally {
        slots.give();
      }
    });
  });
  const outcomes = await Promise.all(done);
  const failed: PassResult['failed'] = [];
  const unconfirmed: string[] = [];
  outcomes.forEach((o, i) => {
    if (o.ok) return;
    const g = groups[i]!;
    failed.push({ key: g.key, error: o.error, ...(o.unreachable ? { unreachable: true } : {}) });
    for (const line of g.lines) unconfirmed.push(line);
  });
  return { lines: grouped.count, malformed: grouped.malformed, failed, unconfirmed };
}

/** Replicates a whole file. */
export async function replicateFile(file: string, replicator: Replicator, route: RouteOptions = {}): Promise<PassResult> {
  return replicateGroups(await groupFile(file, route), replicator);
}

/** A counting semaphore, first come first served (a queue with a moving head: shift() is O(n)). */
class Slots {
  private waiting: Array<() => void> = [];
  private head = 0;
  constructor(private free: number) {}

  take(): Promise<void> {
    if (this.free > 0) {
      this.free--;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  give(): void {
    if (this.head === this.waiting.length) {
      this.free++;
      return;
    }
    const next = this.waiting[this.head++]!;
    if (this.head > 4096 && this.head * 2 > this.waiting.length) {
      this.waiting = this.waiting.slice(this.head);
      this.head = 0;
    }
    next();
  }
}
