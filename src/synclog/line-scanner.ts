/**
 * The sync-log line grammar, as sync_log_reader_getitem (imap/sync_log.c
 * @3.6.1) reads it: `getword` for the type, then one or two IMAP astrings
 * (atom or "quoted" with backslash escaping any byte), then optional CR and
 * the end of the line. This module only finds token boundaries, in place and
 * without allocating, so both the codec (line.ts) and the splitter's hot path
 * share one grammar.
 *
 * Deliberate differences from Cyrus, all of which make us stricter (the line
 * is reported as an error instead of being misread):
 * - A NUL byte is an error; Cyrus would silently cut the name at it.
 * - A literal `{n}` is an error; Cyrus writers never emit one (they quote
 *   braces) and the 3.6.1 reader would try to send a continuation.
 * - A backslash just before the line end is an unterminated quote; Cyrus would
 *   take the LF into the name and keep reading the next line.
 * - An error affects this line only; Cyrus's reader ends the whole batch on a
 *   bad astring (e.g. a double space or a trailing space).
 */

/** Scan outcome codes. OK is 0; the rest are reasons the line is not an item. */
export const SCAN = {
  OK: 0,
  /** Empty line (or a lone CR): Cyrus skips it silently. */
  BLANK: 1,
  /** A type word and nothing else: Cyrus skips it silently. */
  NO_ARGUMENTS: 2,
  /** The type word is followed by something other than a space ("Invalid input"). */
  BAD_SEPARATOR: 3,
  /** The line starts with a space: there is no type word. */
  EMPTY_TYPE: 4,
  /** An argument starts with a byte no astring can start with (space, paren, CR, end of line). */
  BAD_ARGUMENT: 5,
  UNTERMINATED_QUOTE: 6,
  LITERAL: 7,
  /** Something follows the last argument ("Garbage at end of input line"). */
  TRAILING_GARBAGE: 8,
  NUL_BYTE: 9,
} as const;

export type ScanCode = (typeof SCAN)[keyof typeof SCAN];

export const SCAN_REASON: Readonly<Record<number, string>> = {
  [SCAN.BLANK]: 'blank line',
  [SCAN.NO_ARGUMENTS]: 'type word without arguments',
  [SCAN.BAD_SEPARATOR]: 'type word not followed by a space',
  [SCAN.EMPTY_TYPE]: 'missing type word',
  [SCAN.BAD_ARGUMENT]: 'argument cannot start here',
  [SCAN.UNTERMINATED_QUOTE]: 'unterminated quoted string',
  [SCAN.LITERAL]: 'literal {n} arguments are not supported',
  [SCAN.TRAILING_GARBAGE]: 'garbage after the last argument',
  [SCAN.NUL_BYTE]: 'NUL byte',
};

/** How an argument is spelled; decides whether it must be unescaped. */
export const ARG = { ATOM: 0, QUOTED: 1, QUOTED_ESCAPED: 2 } as const;

const SP = 0x20;
const CR = 0x0d;
const DQUOTE = 0x22;
const BACKSLASH = 0x5c;
const LBRACE = 0x7b;

/** Bytes that end a getword word or an atom: C isspace() in the C locale, parens, double quote. */
const STOPS = new Uint8Array(256);
for (const byte of [0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x20, 0x28, 0x29, 0x22]) STOPS[byte] = 1;

/**
 * Token boundaries of one line, reused from line to line. For a quoted
 * argument the range excludes the quotes but still holds any escapes.
 */
export class LineScan {
  code: number = SCAN.OK;
  /** Offset of the byte that caused the error. */
  errorAt = 0;
  typeStart = 0;
  typeEnd = 0;
  argCount = 0;
  arg1Start = 0;
  arg1End = 0;
  arg1Form: number = ARG.ATOM;
  arg2Start = 0;
  arg2End = 0;
  arg2Form: number = ARG.ATOM;
}

/**
 * Scans src[start, end), one line without its LF (a trailing CR is allowed,
 * as in Cyrus). Returns out.code. Never throws; linear in the line length.
 */
export function scanLine(src: Uint8Array, start: number, end: number, out: LineScan): number {
  out.argCount = 0;
  let i = start;
  while (i < end) {
    const byte = src[i]!;
    if (STOPS[byte] === 1) break;
    if (byte === 0) return fail(out, SCAN.NUL_BYTE, i);
    i++;
  }
  out.typeStart = start;
  out.typeEnd = i;
  // Like Cyrus, a CR after the word is skipped before looking at what follows.
  if (i < end && src[i] === CR) i++;
  if (i === end) return fail(out, out.typeEnd === start ? SCAN.BLANK : SCAN.NO_ARGUMENTS, i);
  if (src[i] !== SP) return fail(out, SCAN.BAD_SEPARATOR, i);
  if (out.typeEnd === start) return fail(out, SCAN.EMPTY_TYPE, i);

  i = scanAstring(src, i + 1, end, out, 1);
  if (i < 0) return out.code;
  out.argCount = 1;
  if (i < end && src[i] === SP) {
    i = scanAstring(src, i + 1, end, out, 2);
    if (i < 0) return out.code;
    out.argCount = 2;
  }
  if (i < end && src[i] === CR) i++;
  if (i !== end) return fail(out, SCAN.TRAILING_GARBAGE, i);
  out.code = SCAN.OK;
  return SCAN.OK;
}

function fail(out: LineScan, code: number, at: number): number {
  out.code = code;
  out.errorAt = at;
  return code;
}

function failArg(out: LineScan, code: number, at: number): -1 {
  fail(out, code, at);
  return -1;
}

/** Returns the offset just after the argument, or -1 with out.code set. */
function scanAstring(src: Uint8Array, i: number, end: number, out: LineScan, which: 1 | 2): number {
  if (i === end) return failArg(out, SCAN.BAD_ARGUMENT, i);
  const first = src[i]!;
  if (first === SP || first === 0x28 || first === 0x29 || first === CR) return failArg(out, SCAN.BAD_ARGUMENT, i);
  if (first === LBRACE) return failArg(out, SCAN.LITERAL, i);

  if (first === DQUOTE) {
    let form: number = ARG.QUOTED;
    let j = i + 1;
    for (;;) {
      if (j >= end) return failArg(out, SCAN.UNTERMINATED_QUOTE, j);
      const byte = src[j]!;
      if (byte === BACKSLASH) {
        if (j + 1 >= end) return failArg(out, SCAN.UNTERMINATED_QUOTE, j);
        if (src[j + 1] === 0) return failArg(out, SCAN.NUL_BYTE, j + 1);
        form = ARG.QUOTED_ESCAPED;
        j += 2;
        continue;
      }
      if (byte === DQUOTE) break;
      if (byte === CR) return failArg(out, SCAN.UNTERMINATED_QUOTE, j);
      if (byte === 0) return failArg(out, SCAN.NUL_BYTE, j);
      j++;
    }
    setArg(out, which, i + 1, j, form);
    return j + 1;
  }

  let j = i;
  while (j < end) {
    const byte = src[j]!;
    if (STOPS[byte] === 1) break;
    if (byte === 0) return failArg(out, SCAN.NUL_BYTE, j);
    j++;
  }
  setArg(out, which, i, j, ARG.ATOM);
  return j;
}

function setArg(out: LineScan, which: 1 | 2, start: number, end: number, form: number): void {
  if (which === 1) {
    out.arg1Start = start;
    out.arg1End = end;
    out.arg1Form = form;
  } else {
    out.arg2Start = start;
    out.arg2End = end;
    out.arg2Form = form;
  }
}

/** Copies a quoted argument's content, dropping each escaping backslash. */
export function unescapeInto(src: Uint8Array, start: number, end: number, dst: Uint8Array, at: number): number {
  for (let i = start; i < end; i++) {
    let byte = src[i]!;
    if (byte === BACKSLASH) byte = src[++i]!;
    dst[at++] = byte;
  }
  return at;
}
