/**
 * A minimal reader for the dlist *text* stored in Cyrus files: mailboxes.db
 * values, the cyrus.header line, quota values. It follows imap/dlist.c's
 * dlist_parsesax byte for byte (that is what Cyrus uses on these values):
 * atoms end at the next SP with trailing `)` stripped back off, `"…"` honours
 * backslash escapes, `{N}`/`{N+}` CRLF literals, bare NIL is null, `%(` opens
 * a key/value list, `(` a plain list, and the whole input must be consumed.
 * The wire DLIST codec lives in src/dlist; this one only reads stored values.
 */
import { SyncmuxError } from '../errors.js';

export type DValue = string | null | DList | DKvList;

export interface DList {
  readonly kind: 'list';
  readonly items: readonly DValue[];
}

export interface DKvList {
  readonly kind: 'kvlist';
  readonly entries: ReadonlyArray<readonly [string, DValue]>;
}

export class DlistSyntaxError extends SyncmuxError {
  constructor(message: string, options?: ErrorOptions) {
    super('SYNCMUX_DLIST_SYNTAX', message, options);
  }
}

const SP = 0x20;
const LPAREN = 0x28;
const RPAREN = 0x29;
const PERCENT = 0x25;
const DQUOTE = 0x22;
const BACKSLASH = 0x5c;
const LBRACE = 0x7b;
/** Stored values nest three deep at most; a corrupt file must not recurse until the stack overflows. */
const MAX_DEPTH = 128;

class Reader {
  p = 0;
  depth = 0;
  constructor(readonly b: Uint8Array) {}

  fail(what: string): never {
    throw new DlistSyntaxError(`dlist: ${what} at offset ${this.p}`);
  }

  atEnd(): boolean {
    return this.p >= this.b.length;
  }

  cur(): number {
    if (this.p >= this.b.length) this.fail('unexpected end');
    return this.b[this.p] as number;
  }

  /** One scalar; undefined result means NIL. */
  item(): string | null {
    const c = this.cur();
    if (c === DQUOTE) return this.quoted();
    if (c === LBRACE) return this.literal();
    const b = this.b;
    let sp = b.indexOf(SP, this.p);
    if (sp < 0) sp = b.length;
    while (sp > this.p && b[sp - 1] === RPAREN) sp--;
    const s = Buffer.from(b.buffer, b.byteOffset + this.p, sp - this.p).toString('utf8');
    this.p = sp;
    return s === 'NIL' ? null : s;
  }

  quoted(): string {
    const b = this.b;
    this.p++;
    const out: number[] = [];
    while (this.p < b.length) {
      let c = b[this.p] as number;
      if (c === DQUOTE) {
        this.p++;
        return Buffer.from(out).toString('utf8');
      }
      if (c === BACKSLASH) {
        this.p++;
        if (this.p === b.length) break;
        c = b[this.p] as number;
      }
      out.push(c);
      this.p++;
    }
    return this.fail('unterminated quoted string');
  }

  literal(): string {
    const b = this.b;
    this.p++;
    let len = 0;
    while (this.p < b.length && (b[this.p] as number) >= 0x30 && (b[this.p] as number) <= 0x39) {
      len = len * 10 + ((b[this.p] as number) - 0x30);
      this.p++;
    }
    if (b[this.p] === 0x2b && this.p + 1 < b.length) this.p++;
    // Cyrus' bound is ">= end": a literal may not be the very last bytes.
    if (b[this.p] !== 0x7d || this.p + 3 + len >= b.length || b[this.p + 1] !== 0x0d || b[this.p + 2] !== 0x0a) {
      return this.fail('bad literal');
    }
    const start = this.p + 3;
    this.p = start + len;
    return Buffer.from(b.buffer, b.byteOffset + start, len).toString('utf8');
  }

  value(): DValue {
    if (++this.depth > MAX_DEPTH) this.fail(`lists nested deeper than ${MAX_DEPTH}`);
    try {
      return this.valueAtDepth();
    } finally {
      this.depth--;
    }
  }

  private valueAtDepth(): DValue {
    const c = this.cur();
    if (c === LPAREN) {
      this.p++;
      const items: DValue[] = [];
      while (this.cur() !== RPAREN) {
        items.push(this.value());
        if (this.cur() === RPAREN) break;
        if (this.cur() !== SP) this.fail('expected SP in list');
        this.p++;
      }
      this.p++;
      return { kind: 'list', items };
    }
    if (c === PERCENT) {
      this.p++;
      if (this.cur() !== LPAREN) this.fail('unknown percent type');
      this.p++;
      const entries: Array<[string, DValue]> = [];
      while (this.cur() !== RPAREN) {
        const key = this.item();
        if (key === null) this.fail('NIL key');
        if (this.cur() !== SP) this.fail('expected SP after key');
        this.p++;
        entries.push([key, this.value()]);
        if (this.cur() === RPAREN) break;
        if (this.cur() !== SP) this.fail('expected SP in kvlist');
        this.p++;
      }
      this.p++;
      return { kind: 'kvlist', entries };
    }
    return this.item();
  }
}

/** Parses one complete dlist value (e.g. `%(T e I … A %(tom lrs))`). */
export function parseDlistValue(input: Uint8Array | string): DValue {
  const bytes = typeof input === 'string' ? Buffer.from(input, 'utf8') : input;
  const r = new Reader(bytes);
  const v = r.value();
  if (!r.atEnd()) r.fail('trailing bytes');
  return v;
}

/** First value under `key` in a kvlist (Cyrus' dlist_getchild), or undefined. */
export function kvGet(list: DKvList, key: string): DValue | undefined {
  for (const [k, v] of list.entries) if (k === key) return v;
  return undefined;
}

export function isKvList(v: DValue | undefined): v is DKvList {
  return typeof v === 'object' && v !== null && v.kind === 'kvlist';
}

export function isList(v: DValue | undefined): v is DList {
  return typeof v === 'object' && v !== null && v.kind === 'list';
}

/** A scalar as string (undefined for missing, NIL, or a list). */
export function kvString(list: DKvList, key: string): string | undefined {
  const v = kvGet(list, key);
  return typeof v === 'string' ? v : undefined;
}

/** strtoull-style: leading decimal digits, 0 when none (atomodseq_t / atol semantics for our fields). */
export function toBigNum(v: string | null | undefined): bigint {
  const m = /^\s*\+?(\d+)/.exec(v ?? '');
  return m ? BigInt(m[1] ?? '0') & 0xffffffffffffffffn : 0n;
}

/** 32-bit unsigned from a decimal field (uidvalidity, times). */
export function toNum32(v: string | null | undefined): number {
  return Number(toBigNum(v) & 0xffffffffn);
}
