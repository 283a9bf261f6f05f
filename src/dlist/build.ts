/**
 * Builders: the typed way for the engine to make DLIST trees.
 *
 *   kvlist('MAILBOX', { UNIQUEID: id, LAST_UID: 4, HIGHESTMODSEQ: 7n,
 *                       FLAGS: flags(['\\Seen']), RECORD: [...] })
 *
 * Field order is the object's insertion order, which is wire order (JS puts
 * integer-like keys first, but DLIST keys are upper-case names). A field
 * whose value is `undefined` is left out, so optional keys read naturally.
 * Plain JS values are coerced: string → atom (UTF-8), number/bigint →
 * unsigned decimal, null → NIL, array → list. Flags must be made with
 * flag()/flags(): a string "\\Seen" would be an atom and print as a literal.
 *
 * Builders validate eagerly and throw TypeError/RangeError, because a tree
 * that cannot be printed and parsed back would desynchronise the stream.
 */
import { asBuffer, bytesToBinary, textToBinary } from './binary.js';
import { isAtom } from './astring.js';
import { DAtom, DFile, DFlag, DKvList, DList, DNil, NIL, type FileSource, type Keyed, type Node, type Slot } from './node.js';

export type Value = Node | string | number | bigint | null | readonly Value[];
export type Fields = Readonly<Record<string, Value | undefined>> | Iterable<readonly [string, Value | undefined]>;

const U64_MAX = (1n << 64n) - 1n;
const GUID = /^[0-9a-fA-F]{40}$/;

export function nil(): DNil {
  return NIL;
}

/** A string value from text (UTF-8 encoded). */
export function atom(text: string): DAtom {
  return new DAtom(textToBinary(text));
}

/** A string value from raw bytes (may contain NUL or 8-bit: prints as a literal). */
export function bytes(data: Uint8Array): DAtom {
  return new DAtom(bytesToBinary(data));
}

/** An unsigned decimal (Cyrus NUM32/NUM64/DATE print `%llu`). */
export function num(n: number | bigint): DAtom {
  if (typeof n === 'number') {
    if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`num: not an unsigned safe integer: ${n}`);
  } else if (n < 0n || n > U64_MAX) {
    throw new RangeError(`num: out of uint64 range: ${n}`);
  }
  return new DAtom(String(n));
}

/** 16 lower-case hex digits, zero padded (Cyrus DL_HEX: thrid, basethrid). */
export function hex64(n: number | bigint): DAtom {
  const v = BigInt(n);
  if (v < 0n || v > U64_MAX) throw new RangeError(`hex64: out of uint64 range: ${n}`);
  return new DAtom(v.toString(16).padStart(16, '0'));
}

/** A message GUID: 40 hex digits, printed lower-case. */
export function guid(hex: string): DAtom {
  if (!GUID.test(hex)) throw new TypeError(`guid: not 40 hex digits: ${JSON.stringify(hex)}`);
  return new DAtom(hex.toLowerCase());
}

/**
 * A flag, printed raw: `\Seen`, `\Expunged`, `$Label1`. It must read back as
 * the same flag, so it is an optional backslash followed by atom characters,
 * and not `NIL`.
 */
export function flag(name: string): DFlag {
  const raw = textToBinary(name);
  const body = raw.startsWith('\\') ? raw.slice(1) : raw;
  if (!isAtom(body)) throw new TypeError(`flag: not a valid flag name: ${JSON.stringify(name)}`);
  return new DFlag(raw);
}

export function flags(names: Iterable<string>): DList {
  return new DList(Array.from(names, flag));
}

export function list(items: Iterable<Value>): DList;
export function list(name: string, items: Iterable<Value>): Keyed<DList>;
export function list(a: string | Iterable<Value>, b?: Iterable<Value>): DList | Keyed<DList> {
  if (typeof a === 'string') return keyed(a, new DList(Array.from(b ?? [], value)));
  return new DList(Array.from(a, value));
}

export function kvlist(fields: Fields): DKvList;
export function kvlist(name: string, fields: Fields): Keyed<DKvList>;
export function kvlist(a: string | Fields, b?: Fields): DKvList | Keyed<DKvList> {
  if (typeof a === 'string') return keyed(a, makeKvlist(b ?? {}));
  return makeKvlist(a);
}

function makeKvlist(fields: Fields): DKvList {
  const slots: Slot[] = [];
  const pairs = isIterable(fields) ? fields : Object.entries(fields);
  for (const [k, v] of pairs) {
    if (v === undefined) continue;
    slots.push(keyName(k), value(v));
  }
  return new DKvList(slots);
}

/**
 * A file literal. `source` is the body: bytes in memory, `{ path }` to stream
 * from disk, or `{ open }` for any async byte source. `size` is what the
 * header announces; stream-out.ts checks the source delivers exactly that.
 */
export function file(
  partition: string,
  guidHex: string,
  size: number,
  source: Uint8Array | readonly Uint8Array[] | { path: string } | { open: () => AsyncIterable<Uint8Array> },
): DFile {
  if (!Number.isSafeInteger(size) || size < 0 || size > 0xffffffff) {
    throw new RangeError(`file: size must be a uint32: ${size}`);
  }
  const part = textToBinary(partition);
  if (part.length === 0) throw new TypeError('file: empty partition');
  let src: FileSource;
  if (source instanceof Uint8Array) src = { type: 'bytes', chunks: [asBuffer(source)] };
  else if (Array.isArray(source)) src = { type: 'bytes', chunks: source.map(asBuffer) };
  else if ('path' in source) src = { type: 'path', path: source.path };
  else if ('open' in source) src = { type: 'stream', open: source.open };
  else throw new TypeError('file: unknown body source');
  if (src.type === 'bytes') {
    const total = src.chunks.reduce((n, c) => n + c.byteLength, 0);
    if (total !== size) throw new RangeError(`file: body is ${total} bytes, header says ${size}`);
  }
  return new DFile(part, guid(guidHex).raw, size, src);
}

export function keyed<N extends Node>(name: string, v: N): Keyed<N>;
export function keyed(name: string, v: Value): Keyed;
export function keyed(name: string, v: Value): Keyed {
  return { name: keyName(name), value: value(v) };
}

/** Coerces a plain JS value to a node (see the module comment). */
export function value(v: Value): Node {
  if (v === null) return NIL;
  switch (typeof v) {
    case 'string':
      return atom(v);
    case 'number':
    case 'bigint':
      return num(v);
    default:
      if (Array.isArray(v)) return new DList(v.map(value));
      if (isNode(v)) return v;
      throw new TypeError(`not a DLIST value: ${String(v)}`);
  }
}

function isNode(v: unknown): v is Node {
  return v instanceof DAtom || v instanceof DFlag || v instanceof DList || v instanceof DKvList || v instanceof DFile || v instanceof DNil;
}

function keyName(k: string): string {
  if (k.length === 0) throw new TypeError('empty DLIST key');
  return textToBinary(k);
}

function isIterable(x: unknown): x is Iterable<readonly [string, Value | undefined]> {
  return typeof x === 'object' && x !== null && typeof (x as { [Symbol.iterator]?: unknown })[Symbol.iterator] === 'function';
}
