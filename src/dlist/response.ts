/**
 * Server responses: classifying a frame into the lines sync_client reads
 * (sync_parse_response @3.6.1), mapping NO texts to sync error codes, the
 * incremental ResponseParser, and printing a response back.
 *
 * Line shapes, csync and IMAP-embedded alike:
 *   `* KEY value`            item — one DLIST with its key (sync_parseline)
 *   `* OK …`, `* BYE …`,     untagged — a status word after `*`, or any
 *   `* SASL PLAIN`, …          `*` line that is not one valid item
 *   `[tag] OK|NO|BAD|BYE …`   status — csync has no tag; IMAP has `S<n>`
 *   `+ …`                    continuation (SASL challenges, `+ go ahead`)
 *   anything else            unknown
 * Texts are binary strings (see binary.ts), kept raw so lines print back
 * byte for byte.
 */
import { binaryToBytes } from './binary.js';
import { Cursor, DEFAULT_MAX_DEPTH, ParseFailure } from './cursor.js';
import type { DlistError } from './errors.js';
import { Framer, type Frame, type FrameLimits } from './frame.js';
import type { Keyed } from './node.js';
import { ChunkWriter, type OutChunk, type PrintOptions } from './print.js';

export type StatusWord = 'OK' | 'NO' | 'BAD' | 'BYE';

/** What sync_parse_response turns a final line into (imap_err names). */
export type SyncCode =
  | 'OK'
  | 'IMAP_BYE_LOGOUT'
  | 'IMAP_INVALID_USER'
  | 'IMAP_MAILBOX_NONEXISTENT'
  | 'IMAP_MAILBOX_LOCKED'
  | 'IMAP_MAILBOX_MOVED'
  | 'IMAP_MAILBOX_NOTSUPPORTED'
  | 'IMAP_SYNC_CHECKSUM'
  | 'IMAP_SYNC_CHANGED'
  | 'IMAP_SYNC_BADSIEVE'
  | 'IMAP_PROTOCOL_ERROR'
  | 'IMAP_PROTOCOL_BAD_PARAMETERS'
  | 'IMAP_REMOTE_DENIED';

export type Response =
  | { readonly kind: 'item'; readonly item: Keyed }
  | {
      readonly kind: 'untagged';
      /** The word after `*` (e.g. OK, BYE, SASL, Fatal). */
      readonly word: string;
      /** Text after the word and one SP; null when the line ends at the word. */
      readonly text: string | null;
      /** Why the line is not a DLIST item (absent for status words). */
      readonly parseError?: string;
    }
  | {
      readonly kind: 'status';
      readonly tag: string | null;
      readonly status: StatusWord;
      readonly text: string | null;
      readonly code: SyncCode;
    }
  | { readonly kind: 'continuation'; readonly text: string | null }
  | { readonly kind: 'unknown'; readonly line: string };

/** A framing failure (limits, truncation): the connection is unusable. */
export interface StreamError {
  readonly kind: 'error';
  readonly error: DlistError;
  readonly fatal: boolean;
}

export type ResponseEvent = Response | StreamError;

export interface ParserOptions extends FrameLimits {
  /** Deepest list nesting accepted. Default 128 (sync uses 5). */
  maxDepth?: number;
}

const STATUS = new Set<string>(['OK', 'NO', 'BAD', 'BYE']);
/** Status words that make a `*` line a status rather than a DLIST item. */
const UNTAGGED_STATUS = new Set<string>(['OK', 'NO', 'BAD', 'BYE', 'PREAUTH']);

/** Prefixes sync_parse_response maps, each only when followed by a SP. */
const NO_CODES: readonly SyncCode[] = [
  'IMAP_INVALID_USER',
  'IMAP_MAILBOX_NONEXISTENT',
  'IMAP_MAILBOX_LOCKED',
  'IMAP_MAILBOX_MOVED',
  'IMAP_MAILBOX_NOTSUPPORTED',
  'IMAP_SYNC_CHECKSUM',
  'IMAP_SYNC_CHANGED',
  'IMAP_SYNC_BADSIEVE',
  'IMAP_PROTOCOL_ERROR',
  'IMAP_PROTOCOL_BAD_PARAMETERS',
];

/**
 * The error sync_client derives from a final line. Note the 3.6.1 quirk it
 * reproduces: `NO IMAP_PROTOCOL_BAD_PARAMETERS` arrives without text, so
 * the prefix (with its SP) does not match and it becomes REMOTE_DENIED.
 */
export function syncCode(status: StatusWord, text: string | null): SyncCode {
  switch (status) {
    case 'OK':
      return 'OK';
    case 'BYE':
      return 'IMAP_BYE_LOGOUT';
    case 'BAD':
      return 'IMAP_PROTOCOL_ERROR';
    case 'NO': {
      const t = text ?? '';
      for (const code of NO_CODES) if (t.startsWith(`${code} `)) return code;
      return 'IMAP_REMOTE_DENIED';
    }
  }
}

/** Classifies one frame. Never throws for bad input. */
export function classifyResponse(frame: Frame, maxDepth = DEFAULT_MAX_DEPTH): Response {
  const cur = new Cursor(frame, maxDepth);
  const first = cur.word();
  if (first === '*') {
    if (cur.peek() !== 0x20) return unknown(cur);
    cur.pos++;
    const start = cur.pos;
    const word = cur.word();
    if (UNTAGGED_STATUS.has(word)) {
      const text = textAfter(cur);
      return text === undefined ? unknown(cur) : { kind: 'untagged', word, text };
    }
    cur.pos = start;
    let parseError: string;
    try {
      return { kind: 'item', item: cur.keyedLine() };
    } catch (e) {
      if (!(e instanceof ParseFailure)) throw e;
      parseError = `${e.reason} (at byte ${e.offset})`;
    }
    // Not a DLIST: keep the line as words (banner capabilities, `* Fatal error: …`).
    const again = new Cursor(frame, maxDepth);
    again.pos = start;
    again.word();
    const text = word === '' ? undefined : textAfter(again);
    return text === undefined ? unknown(again) : { kind: 'untagged', word, text, parseError };
  }
  if (first === '+') {
    const text = textAfter(cur);
    return text === undefined ? unknown(cur) : { kind: 'continuation', text };
  }
  let tag: string | null = null;
  let word = first;
  if (!STATUS.has(first)) {
    if (first === '' || cur.peek() !== 0x20) return unknown(cur);
    cur.pos++;
    tag = first;
    word = cur.word();
    if (!STATUS.has(word)) return unknown(cur);
  }
  const text = textAfter(cur);
  if (text === undefined) return unknown(cur);
  const st = word as StatusWord;
  return { kind: 'status', tag, status: st, text, code: syncCode(st, text) };
}

/**
 * After a word: null at the end of the line, the raw rest after one SP, or
 * undefined when something else is glued to the word (not a valid line).
 */
function textAfter(cur: Cursor): string | null | undefined {
  if (cur.atEnd()) return null;
  if (cur.peek() !== 0x20) return undefined;
  cur.pos++;
  return cur.rest();
}

/** The whole line, raw, from its start (`cur` may be anywhere in it). */
function unknown(cur: Cursor): Response {
  return { kind: 'unknown', line: cur.restartRest() };
}

/**
 * Incremental response parser: feed() chunks of any size, get back the
 * responses they complete. Bad lines come back classified (never thrown);
 * a broken limit or end() inside a frame gives a fatal StreamError, after
 * which every call repeats it.
 */
export class ResponseParser {
  private readonly framer: Framer;
  private readonly maxDepth: number;

  constructor(opts: ParserOptions = {}) {
    this.framer = new Framer(opts);
    this.maxDepth = opts.maxDepth ?? DEFAULT_MAX_DEPTH;
  }

  /** Bytes held for an incomplete response. */
  get buffered(): number {
    return this.framer.buffered;
  }

  /** What the parser waits for: a line end or literal bytes. */
  get awaiting(): 'line' | 'literal' {
    return this.framer.awaiting;
  }

  feed(chunk: Uint8Array): ResponseEvent[] {
    const out: ResponseEvent[] = [];
    const err = this.framer.feed(chunk, (f) => out.push(classifyResponse(f, this.maxDepth)));
    if (err) out.push({ kind: 'error', error: err, fatal: true });
    return out;
  }

  end(): ResponseEvent[] {
    const err = this.framer.end();
    return err ? [{ kind: 'error', error: err, fatal: true }] : [];
  }
}

/** Parses a complete byte string of responses (feed + end). */
export function parseResponses(data: Uint8Array | string, opts?: ParserOptions): ResponseEvent[] {
  const p = new ResponseParser(opts);
  const bytes = typeof data === 'string' ? binaryToBytes(data) : data;
  return [...p.feed(bytes), ...p.end()];
}

/** Prints a response line back (CRLF included). */
export function printResponse(r: Response, opts?: PrintOptions): OutChunk[] {
  const w = new ChunkWriter(opts);
  switch (r.kind) {
    case 'item':
      w.raw('* ').keyed(r.item);
      break;
    case 'untagged':
      w.raw(`* ${r.word}`);
      if (r.text !== null) w.raw(` ${r.text}`);
      break;
    case 'status':
      if (r.tag !== null) w.raw(`${r.tag} `);
      w.raw(r.status);
      if (r.text !== null) w.raw(` ${r.text}`);
      break;
    case 'continuation':
      w.raw('+');
      if (r.text !== null) w.raw(` ${r.text}`);
      break;
    case 'unknown':
      w.raw(r.line);
      break;
  }
  return w.crlf().finish();
}
