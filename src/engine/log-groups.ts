/**
 * How the drop-in's unsharded pass cuts a sync log into batches: by owner
 * key, keeping each key's order (a cross-user line is its first owner's
 * batch, after both owners' earlier lines and before what follows). A batch
 * keeps its raw lines, each distinct line once: the batch's plan collapses
 * repeats anyway (plan.ts), and a day's backlog of millions of APPENDs then
 * costs memory per distinct line, not per line. Lines are parsed again when
 * their batch is replicated (linesOf). Pure but for groupFile's reads.
 */
import { parseLine, ParsedLineRouter, type RouteOptions, type SyncLogLine, LINE_END, LineReader } from '../synclog/index.js';

/** One batch for one owner: its distinct raw lines (latin1, no LF) in first-seen order. */
export interface LineGroup {
  key: string;
  lines: string[];
  /** Indexes of the groups that must be confirmed first. */
  after: readonly number[];
}

/** Shared by every group that waits for none (most of a backlog's). */
const NO_DEPS: readonly number[] = Object.freeze([]);

export interface GroupedLog {
  groups: LineGroup[];
  malformed: Array<{ line: string; reason: string }>;
  /** Well-formed lines read, repeats included. */
  count: number;
}

/** Builds a GroupedLog line by line; a multi-user line closes the open group of both keys. */
export class LogGrouper {
  private readonly groups: LineGroup[] = [];
  private readonly openGroup = new Map<string, number>();
  private readonly lastGroup = new Map<string, number>();
  private readonly malformed: GroupedLog['malformed'] = [];
  private count = 0;
  /**
   * Each distinct line once across all groups, by id: a user's lines recur
   * in every group a cross-user line opens, and a 10M-line backlog kept 2.2M
   * strings in per-group Sets (310 MB). A group holds references, and a
   * line's last group (lastGroup) is what dedupes it within its group: a
   * line only ever joins the open group of its key.
   */
  private readonly lineIds = new Map<string, number>();
  private readonly lineText: string[] = [];
  private readonly lineLastGroup: number[] = [];

  private readonly router: ParsedLineRouter;

  constructor(route: RouteOptions) {
    this.router = new ParsedLineRouter(route);
  }

  add(text: Buffer, start: number, end: number): void {
    const parsed = parseLine(text, start, end);
    if (!parsed.ok) {
      if (parsed.error.reason !== 'blank') this.malformed.push({ line: text.toString('latin1', start, end), reason: parsed.error.detail });
      return;
    }
    this.count++;
    const read = text.toString('latin1', start, end);
    let id = this.lineIds.get(read);
    if (id === undefined) {
      id = this.lineText.push(read) - 1;
      this.lineLastGroup.push(-1);
      this.lineIds.set(read, id);
    }
    const raw = this.lineText[id]!;
    const route = this.router.route(parsed.line);
    if (route.kind === 'single') {
      let g = this.openGroup.get(route.key);
      if (g === undefined) {
        const last = this.lastGroup.get(route.key);
        g = this.groups.push({ key: route.key, lines: [], after: last === undefined ? NO_DEPS : [last] }) - 1;
        this.openGroup.set(route.key, g);
        this.lastGroup.set(route.key, g);
      }
      if (this.lineLastGroup[id] !== g) {
        this.lineLastGroup[id] = g;
        this.groups[g]!.lines.push(raw);
      }
      return;
    }
    // A cross-user line runs after everything either owner had before it, and before what follows.
    const [a, b] = route.keys;
    const after = [a, b].map((k) => this.lastGroup.get(k)).filter((g): g is number => g !== undefined);
    const g = this.groups.push({ key: a, lines: [raw], after: [...new Set(after)] }) - 1;
    this.lineLastGroup[id] = g;
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
/** A writer killed mid-line leaves the last line without its LF: acting on a cut line could name another mailbox. */
const TORN = 'last line of the file had no LF (torn write); not acted on';

export interface GroupOptions {
  /** A file people write (-f): its last line may lack the LF. A sync log's never does, but for a torn write. */
  readonly lastLineMayLackLf?: boolean;
}

export function groupLines(text: Buffer, route: RouteOptions, options: GroupOptions = {}): GroupedLog {
  const grouper = new LogGrouper(route);
  for (let start = 0; start < text.length; ) {
    let end = text.indexOf(0x0a, start);
    if (end < 0 && !options.lastLineMayLackLf) {
      grouper.addMalformed(text.toString('latin1', start), TORN);
      break;
    }
    if (end < 0) end = text.length;
    grouper.add(text, start, end);
    start = end + 1;
  }
  return grouper.result();
}

/** Groups a log file, reading it in bounded chunks. */
export async function groupFile(file: string, route: RouteOptions, options: GroupOptions = {}): Promise<GroupedLog> {
  const grouper = new LogGrouper(route);
  const reader = await LineReader.open(file);
  try {
    for (let batch = await reader.next(); batch !== null; batch = await reader.next()) {
      for (let i = 0; i < batch.count; i++) {
        if (batch.endings[i] === LINE_END.OVERSIZED) {
          grouper.addMalformed(`${batch.buf.toString('latin1', batch.starts[i]!, batch.starts[i]! + 200)}…`, `line of ${batch.oversizedLength} bytes`);
        } else if (batch.endings[i] === LINE_END.EOF && !options.lastLineMayLackLf) {
          grouper.addMalformed(batch.buf.toString('latin1', batch.starts[i]!, batch.ends[i]!), TORN);
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
