/**
 * The incremental framer: bytes in any chunking → complete frames (one
 * response or command line each, with its literals), under memory limits.
 *
 * DLIST as sync_client and sync_server print it keeps a whole item on one
 * line, with literals announced at the end of a line (IMAP style): `{n}` or
 * `{n+}` then CRLF, or `%{partition guid size}` then CRLF (CR optional,
 * as in dlist_parse), followed by exactly n raw bytes, after which the line
 * continues. So framing needs only a LF search (Buffer.indexOf, native) and
 * a look at each line's tail; the grammar is applied later to the complete
 * frame by cursor.ts. A frame is
 *   texts[0] body[0] texts[1] body[1] ... texts[k]
 * where texts[i] is a line without its LF (a CR before it is kept) and body[i]
 * the literal announced at the end of texts[i].
 *
 * Known difference from Cyrus: dlist_parse treats a CRLF inside a list as
 * whitespace, so it would accept an item split over lines; no Cyrus sender
 * does that, and here such a line ends the frame (and fails to parse).
 *
 * Memory: a line's pieces are kept as views of the input chunks and decoded
 * once when its LF arrives; literal bodies are kept as lists of chunks
 * (views, or copies when a piece is small next to its chunk), never
 * re-concatenated. Views mean a caller must not reuse a Buffer it has fed.
 */
import { Buffer, constants as bufferConstants } from 'node:buffer';
import { asBuffer } from './binary.js';
import { DlistError } from './errors.js';

export interface Frame {
  /** Lines without their LF; texts.length === bodies.length + 1. */
  readonly texts: readonly string[];
  /** bodies[i] is the literal announced at the end of texts[i]. */
  readonly bodies: readonly (readonly Buffer[])[];
  /** Bytes the frame took on the wire. */
  readonly size: number;
}

export interface FrameLimits {
  /** Bytes of text (outside literals) in one frame. Default 256 MiB. */
  maxLineLength?: number;
  /** Bytes in one literal or file literal. Default 256 MiB. */
  maxLiteralSize?: number;
  /** Bytes in one frame, literals included. Default 1 GiB. */
  maxFrameSize?: number;
  /**
   * Literals in one frame. Default 100 000. Each costs objects well beyond
   * its bytes, so `{0+}` repeated would otherwise amplify memory.
   */
  maxLiterals?: number;
}

export const DEFAULT_LIMITS: Required<FrameLimits> = {
  maxLineLength: Math.min(256 * 1024 * 1024, bufferConstants.MAX_STRING_LENGTH),
  maxLiteralSize: 256 * 1024 * 1024,
  maxFrameSize: 1024 * 1024 * 1024,
  maxLiterals: 100_000,
};

/** A piece of a body smaller than this fraction of its chunk is copied, not viewed. */
const COPY_FRACTION = 4;

export class Framer {
  private readonly limits: Required<FrameLimits>;
  /** Pieces of the current line (views of input chunks), decoded once at its LF. */
  private parts: Buffer[] = [];
  private partLen = 0;
  private texts: string[] = [];
  private bodies: Buffer[][] = [];
  private textLen = 0;
  private frameSize = 0;
  /** Bytes of literal still to come, or -1 when reading text. */
  private litLeft = -1;
  private litChunks: Buffer[] = [];
  private failure: DlistError | null = null;

  constructor(limits: FrameLimits = {}) {
    this.limits = { ...DEFAULT_LIMITS, ...limits };
    this.limits.maxLineLength = Math.min(this.limits.maxLineLength, bufferConstants.MAX_STRING_LENGTH);
  }

  /** Bytes held for an incomplete frame. */
  get buffered(): number {
    return this.frameSize + this.partLen;
  }

  /** What the framer waits for: a line end or literal bytes. */
  get awaiting(): 'line' | 'literal' {
    return this.litLeft >= 0 ? 'literal' : 'line';
  }

  get failed(): DlistError | null {
    return this.failure;
  }

  /**
   * Consumes a chunk, calling onFrame for each frame it completes. Returns
   * an error when a limit is broken; the framer then stays failed (the
   * stream cannot be resynchronised) and returns that error again.
   */
  feed(input: Uint8Array, onFrame: (frame: Frame) => void): DlistError | null {
    if (this.failure) return this.failure;
    const chunk = asBuffer(input);
    const n = chunk.length;
    let pos = 0;
    while (pos < n) {
      if (this.litLeft >= 0) {
        const take = Math.min(this.litLeft, n - pos);
        const piece = chunk.subarray(pos, pos + take);
        this.litChunks.push(take * COPY_FRACTION < n ? Buffer.from(piece) : piece);
        pos += take;
        this.litLeft -= take;
        this.frameSize += take;
        if (this.litLeft === 0) this.endLiteral();
        continue;
      }
      const lf = chunk.indexOf(10, pos);
      if (lf < 0) {
        this.parts.push(chunk.subarray(pos, n));
        this.partLen += n - pos;
        return this.checkLine();
      }
      let line: string;
      if (this.parts.length > 0) {
        // One decode of the whole line gives V8 a flat string, which the cursor scans fastest.
        this.parts.push(chunk.subarray(pos, lf));
        line = Buffer.concat(this.parts, this.partLen + lf - pos).toString('latin1');
        this.parts = [];
        this.partLen = 0;
      } else {
        line = chunk.toString('latin1', pos, lf);
      }
      pos = lf + 1;
      this.texts.push(line);
      this.textLen += line.length;
      this.frameSize += line.length + 1;
      const err = this.checkLine();
      if (err) return err;
      const lit = literalAtEnd(line);
      if (lit < 0) {
        const frame: Frame = { texts: this.texts, bodies: this.bodies, size: this.frameSize };
        this.texts = [];
        this.bodies = [];
        this.textLen = 0;
        this.frameSize = 0;
        onFrame(frame);
        continue;
      }
      if (lit > this.limits.maxLiteralSize) {
        return this.fail(new DlistError('LITERAL_TOO_LARGE', `literal of ${lit} bytes exceeds maxLiteralSize ${this.limits.maxLiteralSize}`));
      }
      if (this.bodies.length >= this.limits.maxLiterals) {
        return this.fail(new DlistError('FRAME_TOO_LARGE', `more than maxLiterals ${this.limits.maxLiterals} literals in one frame`));
      }
      if (this.frameSize + lit > this.limits.maxFrameSize) {
        return this.fail(new DlistError('FRAME_TOO_LARGE', `frame exceeds maxFrameSize ${this.limits.maxFrameSize}`));
      }
      this.litLeft = lit;
      if (lit === 0) this.endLiteral();
    }
    return null;
  }

  /** Declares end of stream: an incomplete frame is a TRUNCATED error. */
  end(): DlistError | null {
    if (this.failure) return this.failure;
    if (this.partLen > 0 || this.texts.length > 0 || this.litLeft >= 0) {
      const where = this.litLeft >= 0 ? `inside a literal (${this.litLeft} bytes missing)` : 'inside a line';
      return this.fail(new DlistError('TRUNCATED', `stream ended ${where}`));
    }
    return null;
  }

  private endLiteral(): void {
    this.bodies.push(this.litChunks);
    this.litChunks = [];
    this.litLeft = -1;
  }

  private checkLine(): DlistError | null {
    if (this.textLen + this.partLen > this.limits.maxLineLength) {
      return this.fail(new DlistError('LINE_TOO_LONG', `line exceeds maxLineLength ${this.limits.maxLineLength}`));
    }
    if (this.frameSize + this.partLen > this.limits.maxFrameSize) {
      return this.fail(new DlistError('FRAME_TOO_LARGE', `frame exceeds maxFrameSize ${this.limits.maxFrameSize}`));
    }
    return null;
  }

  private fail(e: DlistError): DlistError {
    this.failure = e;
    this.parts = [];
    this.texts = [];
    this.bodies = [];
    this.litChunks = [];
    return e;
  }
}

const CR = 0x0d;
const RBRACE = 0x7d;
const LBRACE = 0x7b;
const PLUS = 0x2b;

/** Characters after which a `{` or `%{` starts a token (whitespace, brackets, quote). */
function startsToken(line: string, at: number): boolean {
  if (at === 0) return true;
  const p = line.charCodeAt(at - 1);
  return p === 0x20 || (p >= 0x09 && p <= 0x0d) || p === 0x28 || p === 0x29 || p === 0x22;
}

const FILE_HEADER = /^%\{(?:"(?:[^"\\\r]|\\.)*"|[^\s()"{}]+) (?:"(?:[^"\\\r]|\\.)*"|[^\s()"{}]+) ([0-9]+)\}$/;

/**
 * The size of the literal announced at the end of `line`, or -1 if none.
 * `{n}`/`{n+}` need CRLF (getxstring); `%{...}` takes an optional CR (dlist_parse).
 * Sizes too long to be real come back as Infinity (rejected by the limit).
 */
export function literalAtEnd(line: string): number {
  let e = line.length;
  const cr = e > 0 && line.charCodeAt(e - 1) === CR;
  if (cr) e--;
  if (e < 3 || line.charCodeAt(e - 1) !== RBRACE) return -1;
  let j = e - 2;
  if (line.charCodeAt(j) === PLUS) j--;
  const digitsEnd = j + 1;
  while (j >= 0 && isDigit(line.charCodeAt(j))) j--;
  if (j >= 0 && j + 1 < digitsEnd && line.charCodeAt(j) === LBRACE) {
    if (!cr || !startsToken(line, j)) return -1;
    return toSize(line.slice(j + 1, digitsEnd));
  }
  const k = line.lastIndexOf('%{', e - 1);
  if (k < 0 || !startsToken(line, k)) return -1;
  const m = FILE_HEADER.exec(line.slice(k, e));
  return m ? toSize(m[1]!) : -1;
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

function toSize(digits: string): number {
  return digits.length > 15 ? Infinity : Number(digits);
}
