/**
 * The DLIST grammar over one complete frame (dlist_parse, getxstring and
 * sync_parseline of Cyrus 3.6.1). It is the single tokenizer behind the
 * response classifier and the command parser.
 *
 * Accepted as Cyrus accepts it:
 * - value: `(` list, `%(` kvlist, `%{p g n}` file literal, `{n}`/`{n+}`
 *   literal (may hold NUL), `\...` flag, `"..."` quoted (`\x` escapes any x,
 *   no CR/LF), else an atom running to whitespace, `(`, `)` or `"` — liberal,
 *   so `a%b]*` is one atom; a bare `NIL` is NIL.
 * - key: atom, quoted or literal (no NUL); `NIL` is just a name here.
 * - whitespace between items and after a key is optional where a bracket
 *   or quote already ends the token (`(a(b))`, `("a""b")`).
 * Errors are thrown as ParseFailure — a plain object, because building an
 * Error captures a stack, which is most of the cost of classifying a banner
 * line that is not DLIST. Entry points turn it into a DlistError.
 */
import { Buffer } from 'node:buffer';
import { DlistError, type DlistErrorCode } from './errors.js';
import type { Frame } from './frame.js';
import { Interner } from './intern.js';
import { DFile, DFlag, DKvList, DList, NIL, wrapSlot, type Keyed, type Node, type Slot } from './node.js';

/** C isspace: SP \t \n \v \f \r. */
const SPACE = new Uint8Array(256);
/** Ends a bare word/atom: whitespace, ( ) ". */
const STOP = new Uint8Array(256);
for (const c of [0x20, 0x09, 0x0a, 0x0b, 0x0c, 0x0d]) SPACE[c] = STOP[c] = 1;
for (const c of [0x28, 0x29, 0x22]) STOP[c] = 1;

const GUID = /^[0-9a-fA-F]{40}$/;
const UINT32_MAX = 0xffffffff;

export const DEFAULT_MAX_DEPTH = 128;

export class ParseFailure {
  constructor(
    readonly code: DlistErrorCode,
    readonly reason: string,
    readonly offset: number,
  ) {}
  toError(): DlistError {
    return new DlistError(this.code, this.reason, this.offset);
  }
}

/** Runs `fn`, turning a ParseFailure into the DlistError it stands for. */
export function orThrow<T>(fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    throw e instanceof ParseFailure ? e.toError() : e;
  }
}

/** Frames smaller than this are not worth an interning table (see intern.ts). */
const INTERN_MIN_FRAME = 16 * 1024;

export class Cursor {
  private seg = 0;
  /** The current text segment and the position in it. */
  private s: string;
  pos = 0;
  /**
   * Children of the lists being parsed, innermost last; each list takes an
   * exact-size copy of its part when it closes, so no array is grown by push.
   */
  private readonly stack: Slot[] = [];
  private top = 0;
  private readonly interner: Interner | null;
  private readonly flags: Map<string, DFlag> | null;

  constructor(
    private readonly frame: Frame,
    private readonly maxDepth: number = DEFAULT_MAX_DEPTH,
  ) {
    this.s = frame.texts[0] ?? '';
    const big = frame.size >= INTERN_MIN_FRAME;
    this.interner = big ? new Interner() : null;
    this.flags = big ? new Map() : null;
  }

  /** Current char code, or -1 at the end of the current text segment. */
  peek(): number {
    return this.pos < this.s.length ? this.s.charCodeAt(this.pos) : -1;
  }

  /** getword: everything up to whitespace, `(`, `)` or `"` (may be empty). */
  word(): string {
    const s = this.s;
    const start = this.pos;
    let p = start;
    while (p < s.length && STOP[s.charCodeAt(p)] !== 1) p++;
    this.pos = p;
    return s.slice(start, p);
  }

  skipSpaces(): void {
    const s = this.s;
    let p = this.pos;
    while (p < s.length && SPACE[s.charCodeAt(p)] === 1) p++;
    this.pos = p;
  }

  /** True at the end of the frame, allowing the line's CR. */
  atEnd(): boolean {
    if (this.seg !== this.frame.texts.length - 1) return false;
    const left = this.s.length - this.pos;
    return left === 0 || (left === 1 && this.s.charCodeAt(this.pos) === 0x0d);
  }

  expectEnd(): void {
    if (!this.atEnd()) this.fail('expected end of line');
  }

  /**
   * The rest of the frame as raw binary text (literal bodies inline, the
   * final CR dropped), for status texts that are not DLIST.
   */
  rest(): string {
    const { texts, bodies } = this.frame;
    let out = this.s.slice(this.pos);
    for (let i = this.seg + 1; i < texts.length; i++) {
      out += '\n' + Buffer.concat(bodies[i - 1] ?? []).toString('latin1') + texts[i];
    }
    this.seg = texts.length - 1;
    this.s = texts[this.seg] ?? '';
    this.pos = this.s.length;
    return out.endsWith('\r') ? out.slice(0, -1) : out;
  }

  /** The whole frame as raw text, from its first byte. */
  restartRest(): string {
    this.seg = 0;
    this.s = this.frame.texts[0] ?? '';
    this.pos = 0;
    return this.rest();
  }

  /** sync_parseline's item: `KEY value` then the end of the line. */
  keyedLine(): Keyed {
    const name = this.key();
    this.skipSpaces();
    const value = this.value(0);
    this.expectEnd();
    return { name, value };
  }

  /** getastring: atom (NIL not special), quoted, or literal without NUL. */
  key(): string {
    const c = this.peek();
    if (c === 0x22) return this.quoted();
    if (c === 0x7b) {
      const raw = this.literal();
      if (raw.includes('\0')) this.fail('NUL in a literal key');
      return raw;
    }
    if (c < 0 || STOP[c] === 1) this.fail('expected a key');
    return this.atomRaw();
  }

  /** Like word(), but interned in big frames. */
  private atomRaw(): string {
    const s = this.s;
    const start = this.pos;
    let p = start;
    const interner = this.interner;
    if (interner === null) {
      while (p < s.length && STOP[s.charCodeAt(p)] !== 1) p++;
      this.pos = p;
      return s.slice(start, p);
    }
    let h = 0;
    while (p < s.length) {
      const c = s.charCodeAt(p);
      if (STOP[c] === 1) break;
      h = (Math.imul(h, 31) + c) | 0;
      p++;
    }
    this.pos = p;
    return interner.take(s, start, p, h);
  }

  value(depth: number): Node {
    return wrapSlot(this.slot(depth));
  }

  /** A value; a string value may come back unwrapped (see Slot in node.ts). */
  private slot(depth: number): Slot {
    const s = this.s;
    const c = this.pos < s.length ? s.charCodeAt(this.pos) : -1;
    switch (c) {
      case 0x28: // (
        return this.list(depth);
      case 0x25: {
        // %( kvlist or %{ file literal; no whitespace after %
        const d = this.pos + 1 < s.length ? s.charCodeAt(this.pos + 1) : -1;
        if (d === 0x28) return this.kvlist(depth);
        if (d === 0x7b) return this.fileLiteral();
        return this.fail('expected %( or %{');
      }
      case 0x7b: // {
        return this.literal();
      case 0x5c: // \ flag, read as an atom including the backslash
        return this.flag();
      case 0x22: // "
        return this.quoted();
      default: {
        if (c < 0 || STOP[c] === 1) return this.fail('expected a value');
        const n = this.canonicalNumber();
        if (n >= 0) return n;
        const w = this.atomRaw();
        return w === 'NIL' ? NIL : w;
      }
    }
  }

  /**
   * If the atom here is a canonical decimal of at most 15 digits, consumes it
   * and returns its value (kept unboxed: see Slot in node.ts); else -1.
   */
  private canonicalNumber(): number {
    const s = this.s;
    const start = this.pos;
    let p = start;
    let n = 0;
    while (p < s.length) {
      const c = s.charCodeAt(p);
      if (c < 0x30 || c > 0x39) {
        if (STOP[c] !== 1) return -1;
        break;
      }
      n = n * 10 + (c - 0x30);
      p++;
    }
    const len = p - start;
    if (len === 0 || len > 15 || (len > 1 && s.charCodeAt(start) === 0x30)) return -1;
    this.pos = p;
    return n;
  }

  private flag(): DFlag {
    const raw = this.atomRaw();
    if (this.flags === null) return new DFlag(raw);
    let f = this.flags.get(raw);
    if (f === undefined) this.flags.set(raw, (f = new DFlag(raw)));
    return f;
  }

  private list(depth: number): DList {
    if (depth >= this.maxDepth) this.depthFail();
    this.pos++;
    const base = this.top;
    for (;;) {
      this.skipSpaces();
      const c = this.peek();
      if (c === 0x29) break;
      if (c < 0) this.fail('unterminated list');
      const v = this.slot(depth + 1);
      this.stack[this.top++] = v;
    }
    this.pos++;
    return new DList(this.popTo(base));
  }

  private kvlist(depth: number): DKvList {
    if (depth >= this.maxDepth) this.depthFail();
    this.pos += 2;
    const base = this.top;
    for (;;) {
      this.skipSpaces();
      const c = this.peek();
      if (c === 0x29) break;
      if (c < 0) this.fail('unterminated kvlist');
      const key = this.key();
      this.skipSpaces();
      // The value may push its own children above the key, so claim both slots first.
      const at = this.top;
      this.top += 2;
      this.stack[at] = key;
      this.stack[at + 1] = 0; // no hole while the value parses
      this.stack[at + 1] = this.slot(depth + 1);
    }
    this.pos++;
    return new DKvList(this.popTo(base));
  }

  private popTo(base: number): Slot[] {
    const out = this.stack.slice(base, this.top);
    this.top = base;
    return out;
  }

  /** `"..."`: `\x` stands for x; CR, LF and the end of the line are errors. */
  private quoted(): string {
    const s = this.s;
    const start = this.pos + 1;
    if (s.charCodeAt(start) === 0x22) {
      this.pos = start + 1;
      return '';
    }
    let p = start;
    let out: string | null = null;
    let from = start;
    for (;;) {
      if (p >= s.length) this.fail('unterminated quoted string');
      const c = s.charCodeAt(p);
      if (c === 0x22) break;
      if (c === 0x0d || c === 0x0a) this.fail('CR or LF in a quoted string');
      if (c === 0x5c) {
        if (p + 1 >= s.length) this.fail('unterminated quoted string');
        out = (out ?? '') + s.slice(from, p);
        from = p + 1;
        p += 2;
        continue;
      }
      p++;
    }
    this.pos = p + 1;
    return out === null ? s.slice(start, p) : out + s.slice(from, p);
  }

  /** `{n}` or `{n+}`, CRLF, which must end this text segment; the body follows. */
  private literal(): string {
    const s = this.s;
    let p = this.pos + 1;
    const d0 = p;
    while (p < s.length && isDigit(s.charCodeAt(p))) p++;
    if (p === d0 || p - d0 > 10) this.fail('bad literal size');
    const size = Number(s.slice(d0, p));
    if (size > 0x7fffffff) this.fail('literal size over 2^31-1');
    if (s.charCodeAt(p) === 0x2b) p++;
    if (s.charCodeAt(p) !== 0x7d || s.charCodeAt(p + 1) !== 0x0d || p + 2 !== s.length) {
      this.fail('literal header must end the line with }CRLF');
    }
    this.pos = p;
    const body = this.takeBody(size);
    return body.length === 1 ? body[0]!.toString('latin1') : Buffer.concat(body).toString('latin1');
  }

  /** `%{partition guid size}` [CR] LF, then `size` raw bytes. */
  private fileLiteral(): DFile {
    this.pos += 2;
    const partition = this.key();
    if (this.peek() !== 0x20) this.fail('expected SP after file literal partition');
    this.pos++;
    const guid = this.key();
    if (!GUID.test(guid)) this.fail('file literal GUID is not 40 hex digits');
    if (this.peek() !== 0x20) this.fail('expected SP after file literal GUID');
    this.pos++;
    const s = this.s;
    let p = this.pos;
    while (p < s.length && isDigit(s.charCodeAt(p))) p++;
    if (p === this.pos || p - this.pos > 10) this.fail('bad file literal size');
    const size = Number(s.slice(this.pos, p));
    if (size > UINT32_MAX) this.fail('file literal size over uint32');
    if (s.charCodeAt(p) !== 0x7d) this.fail('expected } after file literal size');
    p++;
    if (p < s.length && s.charCodeAt(p) === 0x0d) p++;
    if (p !== s.length) this.fail('file literal header must end the line');
    this.pos = p;
    return new DFile(partition, guid.toLowerCase(), size, { type: 'bytes', chunks: this.takeBody(size) });
  }

  /** Takes the body that follows the current segment and moves to the next one. */
  private takeBody(size: number): readonly Buffer[] {
    const body = this.frame.bodies[this.seg];
    const next = this.frame.texts[this.seg + 1];
    if (body === undefined || next === undefined) return this.fail('literal body missing');
    let got = 0;
    for (const b of body) got += b.length;
    if (got !== size) this.fail(`literal body is ${got} bytes, header says ${size}`);
    this.seg++;
    this.s = next;
    this.pos = 0;
    return body;
  }

  private offset(): number {
    let off = this.pos;
    for (let i = 0; i < this.seg; i++) {
      off += (this.frame.texts[i]?.length ?? 0) + 1;
      for (const b of this.frame.bodies[i] ?? []) off += b.length;
    }
    return off;
  }

  fail(msg: string): never {
    throw new ParseFailure('SYNTAX', msg, this.offset());
  }

  private depthFail(): never {
    throw new ParseFailure('DEPTH', `lists nested deeper than ${this.maxDepth}`, this.offset());
  }
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}
