/**
 * The sync-log line codec: parse one line into a typed item, print an item
 * back in exactly the bytes Cyrus's writer (va_format + sync_quote_name in
 * imap/sync_log.c @3.6.1) would produce.
 *
 * Arguments are byte strings: each char is one byte (latin1 decoding), because
 * names are mUTF-7 in theory but 8-bit bytes do occur and must survive
 * unchanged. For every line Cyrus writes, printLine(parseLine(line)) gives the
 * identical bytes back.
 */
import { LINE_TYPES, typeCodeOf, typeOfCode, type LineType } from './line-types.js';
import { ARG, LineScan, SCAN, SCAN_REASON, scanLine, unescapeInto } from './line-scanner.js';

export interface SyncLogLine {
  readonly type: LineType;
  /** One or two byte strings, as many as LINE_TYPES[type] lists. */
  readonly args: readonly string[];
}

export type ParseErrorReason =
  | 'blank'
  | 'no-arguments'
  | 'syntax'
  | 'nul-byte'
  | 'literal'
  | 'unknown-type'
  | 'wrong-arity'
  | 'embedded-newline';

export interface ParseError {
  readonly reason: ParseErrorReason;
  /** Human-readable explanation, for logs and the quarantine file. */
  readonly detail: string;
  /** Byte offset in the line where the problem was found. */
  readonly column: number;
}

export type ParseResult = { readonly ok: true; readonly line: SyncLogLine } | { readonly ok: false; readonly error: ParseError };

const LF = 0x0a;
const CR = 0x0d;
const scratch = new LineScan();

/**
 * Parses one line, with or without its terminating LF (CR LF accepted).
 * Never throws, whatever the bytes.
 */
export function parseLine(bytes: Uint8Array, start = 0, end = bytes.length): ParseResult {
  if (end > start && bytes[end - 1] === LF) end--;
  const newline = bytes.subarray(start, end).indexOf(LF);
  if (newline >= 0) return failure('embedded-newline', 'LF inside the line', newline);

  const code = scanLine(bytes, start, end, scratch);
  if (code !== SCAN.OK) return failure(reasonOfScanCode(code), SCAN_REASON[code] ?? 'syntax error', scratch.errorAt - start);

  const typeCode = typeCodeOf(bytes, scratch.typeStart, scratch.typeEnd);
  if (typeCode < 0) {
    const word = Buffer.from(bytes.subarray(scratch.typeStart, scratch.typeEnd)).toString('latin1');
    return failure('unknown-type', `unknown type ${JSON.stringify(word)}`, 0);
  }
  const type = typeOfCode(typeCode);
  const arity = LINE_TYPES[type].length;
  if (scratch.argCount !== arity) {
    return failure('wrong-arity', `${type} takes ${arity} argument(s), got ${scratch.argCount}`, scratch.typeEnd - start);
  }
  const args = [argText(bytes, scratch.arg1Start, scratch.arg1End, scratch.arg1Form)];
  if (arity === 2) args.push(argText(bytes, scratch.arg2Start, scratch.arg2End, scratch.arg2Form));
  return { ok: true, line: { type, args } };
}

function reasonOfScanCode(code: number): ParseErrorReason {
  switch (code) {
    case SCAN.BLANK:
      return 'blank';
    case SCAN.NO_ARGUMENTS:
      return 'no-arguments';
    case SCAN.NUL_BYTE:
      return 'nul-byte';
    case SCAN.LITERAL:
      return 'literal';
    default:
      return 'syntax';
  }
}

function failure(reason: ParseErrorReason, detail: string, column: number): ParseResult {
  return { ok: false, error: { reason, detail, column } };
}

function argText(src: Uint8Array, start: number, end: number, form: number): string {
  if (form !== ARG.QUOTED_ESCAPED) return Buffer.from(src.buffer, src.byteOffset + start, end - start).toString('latin1');
  const out = Buffer.allocUnsafe(end - start);
  const length = unescapeInto(src, start, end, out, 0);
  return out.toString('latin1', 0, length);
}

/**
 * sync_quote_name: `\ " { }` are backslash-escaped and force quotes; space,
 * TAB, `(` and `)` force quotes; the empty name is `""`; all else is raw,
 * 8-bit bytes included. Like Cyrus, VT and FF are copied raw although the
 * reader stops atoms at them. Throws where Cyrus calls fatal(): CR or LF in a
 * name; also on NUL and on chars above 0xFF, which a byte string cannot hold.
 */
export function quoteArg(arg: string): string {
  if (arg.length === 0) return '""';
  let needQuotes = false;
  let escaped = '';
  let runStart = 0;
  for (let i = 0; i < arg.length; i++) {
    const code = arg.charCodeAt(i);
    if (code === CR || code === LF) throw new RangeError('Illegal line break in folder name');
    if (code === 0 || code > 0xff) throw new RangeError(`argument holds a char that is not a byte: U+${code.toString(16)}`);
    if (code === 0x5c || code === 0x22 || code === 0x7b || code === 0x7d) {
      needQuotes = true;
      escaped += arg.slice(runStart, i) + '\\';
      runStart = i;
    } else if (code === 0x20 || code === 0x09 || code === 0x28 || code === 0x29) {
      needQuotes = true;
    }
  }
  escaped += arg.slice(runStart);
  return needQuotes ? `"${escaped}"` : escaped;
}

/** The exact bytes Cyrus writes for this item, LF included. */
export function printLine(line: SyncLogLine): Buffer {
  const arity = LINE_TYPES[line.type].length;
  if (line.args.length !== arity) throw new RangeError(`${line.type} takes ${arity} argument(s)`);
  return Buffer.from(`${line.type} ${line.args.map(quoteArg).join(' ')}\n`, 'latin1');
}
