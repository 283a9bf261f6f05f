/**
 * Routing: which user a sync-log line belongs to, as a shard key.
 *
 * Keys (byte strings; a user's shard is XXH3-64 of the key's raw bytes mod N):
 * - a user's events: the userid, localpart[@domain], with the `.` of the
 *   external form (internal `^` becomes `.`), so `USER john.smith` and
 *   `MAILBOX user.john^smith.Drafts` share a key; `DELETED.` names and
 *   `#sieve` folders belong to their user;
 * - shared (non-user) mailboxes: `@` + domain, or `@` alone without a domain.
 *   A real userid always has a localpart before the `@`, so these cannot
 *   collide with one;
 * - server-level annotations (`ANNOTATION ""`): `*`, which is no valid
 *   userid (mailbox names may not contain `*`).
 * SEEN, SUB and UNSUB belong to their userid argument (the subscriber, not
 * the folder's owner); QUOTA to the owner of its root. RENAME and
 * DOUBLEMAILBOX with two different owners are multi-user: both keys, the
 * first argument's owner first.
 */
import { shardOfLines } from '../native/index.js';
import { ByteSink } from './byte-sink.js';
import type { SyncLogLine } from './line.js';
import { argKindsOf, LINE_TYPE_NAMES, typeCodeOf, type ArgKind } from './line-types.js';
import { ARG, LineScan, SCAN, SCAN_REASON, scanLine, unescapeInto } from './line-scanner.js';
import { findNameOwner, NameOwner, useridKeepEnd, type NameRules } from './mboxname.js';

export interface RouteOptions {
  /** Cyrus `deletedprefix`. Default `DELETED`. */
  readonly deletedPrefix?: string;
  /** Cyrus `defaultdomain`: dropped from names and userids. Default `internal` (Cyrus's default); null keeps all. */
  readonly defaultDomain?: string | null;
}

export type Route =
  | { readonly kind: 'single'; readonly key: string }
  | { readonly kind: 'multi'; readonly keys: readonly [string, string] };

export const GLOBAL_KEY = '*';
export const SHARED_KEY_PREFIX = '@';

/** route() failure codes beyond the scanner's (see SCAN). */
export const ROUTE_FAILURE = { UNKNOWN_TYPE: 20, WRONG_ARITY: 21 } as const;

export function routeFailureReason(code: number): string {
  if (code === ROUTE_FAILURE.UNKNOWN_TYPE) return 'unknown line type';
  if (code === ROUTE_FAILURE.WRONG_ARITY) return 'wrong number of arguments for the type';
  return SCAN_REASON[code] ?? `error ${code}`;
}

const KINDS_BY_CODE = LINE_TYPE_NAMES.map((name) => argKindsOf(name));
const NEWLINE = 0x0a;
const CARET = 0x5e;
const DOT = 0x2e;
const AT = 0x40;

/**
 * The hot-path router: scans a line in place and appends its key(s), each
 * followed by LF, to a key buffer meant for shardOfLines. Allocates nothing
 * per line. Not reentrant: one instance per splitter.
 */
export class LineRouter {
  private readonly rules: NameRules;
  private readonly scan = new LineScan();
  private readonly owner = new NameOwner();
  private unescaped = Buffer.allocUnsafe(4096);
  /** Offset in the line of the last failure. */
  errorAt = 0;

  constructor(options: RouteOptions = {}) {
    const defaultDomain = options.defaultDomain === undefined ? 'internal' : options.defaultDomain;
    this.rules = {
      deletedPrefix: Buffer.from(options.deletedPrefix ?? 'DELETED', 'latin1'),
      defaultDomain: defaultDomain === null || defaultDomain === '' ? null : Buffer.from(defaultDomain, 'latin1'),
    };
  }

  /**
   * Routes src[start, end) (one line without its LF). Returns the number of
   * keys appended: 1, or 2 for a multi-user line (two different keys, first
   * argument's owner first); or minus a SCAN / ROUTE_FAILURE code, with
   * nothing appended.
   */
  route(src: Uint8Array, start: number, end: number, keys: ByteSink): number {
    const scan = this.scan;
    const code = scanLine(src, start, end, scan);
    if (code !== SCAN.OK) {
      this.errorAt = scan.errorAt - start;
      return -code;
    }
    const typeCode = typeCodeOf(src, scan.typeStart, scan.typeEnd);
    if (typeCode < 0) {
      this.errorAt = 0;
      return -ROUTE_FAILURE.UNKNOWN_TYPE;
    }
    const kinds = KINDS_BY_CODE[typeCode]!;
    if (scan.argCount !== kinds.length) {
      this.errorAt = scan.typeEnd - start;
      return -ROUTE_FAILURE.WRONG_ARITY;
    }
    const firstKeyStart = keys.length;
    this.writeArgKey(kinds[0]!, src, scan.arg1Start, scan.arg1End, scan.arg1Form, keys);
    if (kinds[1] !== 'mailbox' || kinds[0] !== 'mailbox') return 1;

    const secondKeyStart = keys.length;
    this.writeArgKey('mailbox', src, scan.arg2Start, scan.arg2End, scan.arg2Form, keys);
    if (sameKey(keys.bytes, firstKeyStart, secondKeyStart, keys.length)) {
      keys.length = secondKeyStart;
      return 1;
    }
    return 2;
  }

  /** Appends the key for one argument (with its LF). Exposed for routeLine. */
  writeArgKey(kind: ArgKind, src: Uint8Array, start: number, end: number, form: number, keys: ByteSink): void {
    if (form === ARG.QUOTED_ESCAPED) {
      if (this.unescaped.length < end - start) this.unescaped = Buffer.allocUnsafe(2 * (end - start));
      end = unescapeInto(src, start, end, this.unescaped, 0);
      start = 0;
      src = this.unescaped;
    }
    if (kind === 'userid') {
      keys.pushRange(src, start, useridKeepEnd(src, start, end, this.rules));
    } else if (kind === 'annotation-mailbox' && start === end) {
      keys.pushLatin1(GLOBAL_KEY);
    } else {
      this.writeMailboxKey(src, start, end, keys);
    }
    keys.pushByte(NEWLINE);
  }

  private writeMailboxKey(src: Uint8Array, start: number, end: number, keys: ByteSink): void {
    const owner = this.owner;
    findNameOwner(src, start, end, this.rules, owner);
    if (owner.isUser) {
      keys.reserve(owner.localEnd - owner.localStart);
      for (let i = owner.localStart; i < owner.localEnd; i++) {
        const byte = src[i]!;
        keys.pushByte(byte === CARET ? DOT : byte);
      }
      if (owner.hasDomain) {
        keys.pushByte(AT);
        keys.pushRange(src, owner.domainStart, owner.domainEnd);
      }
    } else {
      keys.pushLatin1(SHARED_KEY_PREFIX);
      if (owner.hasDomain) keys.pushRange(src, owner.domainStart, owner.domainEnd);
    }
  }
}

function sameKey(bytes: Uint8Array, firstStart: number, secondStart: number, secondEnd: number): boolean {
  if (secondStart - firstStart !== secondEnd - secondStart) return false;
  for (let i = 0; i < secondEnd - secondStart; i++) if (bytes[firstStart + i] !== bytes[secondStart + i]) return false;
  return true;
}

/**
 * Routes parsed lines (the convenient, allocating form of LineRouter.route),
 * for a caller that routes many: it holds one, made once from its options.
 */
export class ParsedLineRouter {
  private readonly router: LineRouter;
  private readonly sink = new ByteSink(256);

  constructor(options: RouteOptions = {}) {
    this.router = new LineRouter(options);
  }

  route(line: SyncLogLine): Route {
    const kinds = argKindsOf(line.type);
    const sink = this.sink;
    sink.reset();
    const ends: number[] = [];
    const wanted = kinds[0] === 'mailbox' && kinds[1] === 'mailbox' ? 2 : 1;
    for (let i = 0; i < wanted; i++) {
      const arg = Buffer.from(line.args[i] ?? '', 'latin1');
      this.router.writeArgKey(kinds[i]!, arg, 0, arg.length, ARG.ATOM, sink);
      ends.push(sink.length - 1);
    }
    return routeOf(sink.view().toString('latin1'), ends);
  }
}

/** Routes one parsed line; a caller routing many holds a ParsedLineRouter instead. */
export function routeLine(line: SyncLogLine, options: RouteOptions = {}): Route {
  return new ParsedLineRouter(options).route(line);
}

function routeOf(text: string, ends: readonly number[]): Route {
  const first = text.slice(0, ends[0]);
  if (ends.length === 1) return { kind: 'single', key: first };
  const second = text.slice(ends[0]! + 1, ends[1]);
  return first === second ? { kind: 'single', key: first } : { kind: 'multi', keys: [first, second] };
}

/** The owner key of one internal mailbox name. */
export function mailboxKey(name: string, options: RouteOptions | ParsedLineRouter = {}): string {
  const router = options instanceof ParsedLineRouter ? options : new ParsedLineRouter(options);
  const route = router.route({ type: 'MAILBOX', args: [name] });
  return route.kind === 'single' ? route.key : route.keys[0];
}

/** The shard of a key: XXH3-64 of its raw bytes mod n (what the splitter computes in batch). */
export function shardOfKey(key: string, shards: number): number {
  return shardOfLines(Buffer.from(`${key}\n`, 'latin1'), shards)[0]!;
}
