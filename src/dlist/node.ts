/**
 * The DLIST tree: node classes and their typed accessors.
 *
 * Like Cyrus, values carry no numeric/date/guid type on the wire: a number
 * is just an atom whose text is decimal, and each accessor converts on
 * demand (Cyrus' dlist_getnum64, dlist_getguid, ...). So the tree keeps only
 * what changes how a value prints: NIL, string (atom/quoted/literal are one
 * kind, chosen at print time), flag (printed raw), list, kvlist and file
 * literal. Every accessor exists on every node and answers `undefined` when
 * it does not apply, so `item.value.get('UIDVALIDITY')?.asNumber()` needs no
 * narrowing.
 *
 * Strings are binary strings (see binary.ts): `raw` holds the bytes,
 * `asString()` decodes UTF-8.
 */
import { Buffer } from 'node:buffer';
import { asBuffer, binaryToBytes, binaryToText, textToBinary } from './binary.js';

export type NodeKind = 'nil' | 'atom' | 'flag' | 'list' | 'kvlist' | 'file';
export type Node = DNil | DAtom | DFlag | DList | DKvList | DFile;

/** A top-level DLIST printed with its key, e.g. `MAILBOX %(...)`. */
export interface Keyed<N extends Node = Node> {
  /** Binary string (ASCII in practice: GET/APPLY sub-command names). */
  readonly name: string;
  readonly value: N;
}

/**
 * Where a file literal's bytes come from. Parsed file literals are always
 * `bytes`; the others let the printer hand the body to stream-out.ts so a
 * large message is never held in memory.
 */
export type FileSource =
  | { readonly type: 'bytes'; readonly chunks: readonly Uint8Array[] }
  | { readonly type: 'path'; readonly path: string }
  | { readonly type: 'stream'; readonly open: () => AsyncIterable<Uint8Array> };

const U64_MAX = (1n << 64n) - 1n;
const DECIMAL = /^[0-9]{1,20}$/;
const HEX = /^[0-9a-fA-F]{1,16}$/;
const GUID = /^[0-9a-fA-F]{40}$/;

abstract class NodeBase {
  abstract readonly kind: NodeKind;

  /** kvlist: the first value under `key` (Cyrus: the first child wins). */
  get(_key: string): Node | undefined {
    return undefined;
  }
  has(key: string): boolean {
    return this.get(key) !== undefined;
  }
  /** list: its items (a kvlist answers undefined; use entries()). */
  asList(): readonly Node[] | undefined {
    return undefined;
  }
  /** atom or flag: text, UTF-8 decoded. NIL answers undefined. */
  asString(): string | undefined {
    return undefined;
  }
  /** atom or flag: the bytes as a binary string. */
  asBinary(): string | undefined {
    return undefined;
  }
  /** atom or flag: the bytes; a file literal held in memory: its body. */
  asBytes(): Buffer | undefined {
    return undefined;
  }
  /** The whole atom as unsigned decimal that fits a double exactly (num32, dates, UIDs). */
  asNumber(): number | undefined {
    return undefined;
  }
  /** The whole atom as unsigned 64-bit decimal (modseqs, sizes that may pass 2^53). */
  asBigInt(): bigint | undefined {
    return undefined;
  }
  /** 1–16 hex digits (thrid/basethrid values). */
  asHex(): bigint | undefined {
    return undefined;
  }
  /** Exactly 40 hex digits, answered lower-case (Cyrus prints GUIDs lower-case). */
  asGuid(): string | undefined {
    return undefined;
  }
  isNil(): boolean {
    return false;
  }
}

export class DNil extends NodeBase {
  readonly kind = 'nil';
  override isNil(): boolean {
    return true;
  }
}

/** Shared accessors of the two string-valued kinds. */
abstract class StringNode extends NodeBase {
  constructor(readonly raw: string) {
    super();
  }
  override asString(): string {
    return binaryToText(this.raw);
  }
  override asBinary(): string {
    return this.raw;
  }
  override asBytes(): Buffer {
    return binaryToBytes(this.raw);
  }
  override asNumber(): number | undefined {
    const raw = this.raw;
    if (raw.length > 16 || !DECIMAL.test(raw)) return undefined;
    const n = Number(raw);
    return Number.isSafeInteger(n) ? n : undefined;
  }
  override asBigInt(): bigint | undefined {
    if (!DECIMAL.test(this.raw)) return undefined;
    const n = BigInt(this.raw);
    return n <= U64_MAX ? n : undefined;
  }
  override asHex(): bigint | undefined {
    return HEX.test(this.raw) ? BigInt(`0x${this.raw}`) : undefined;
  }
  override asGuid(): string | undefined {
    return GUID.test(this.raw) ? this.raw.toLowerCase() : undefined;
  }
}

/** A string value: printed as atom, quoted string or literal by Cyrus' astring rule. */
export class DAtom extends StringNode {
  readonly kind = 'atom';
}

/** A flag (`\Seen`, `$Label1`): printed raw, never quoted (Cyrus DL_FLAG). */
export class DFlag extends StringNode {
  readonly kind = 'flag';
}

/**
 * Lists and kvlists hold their children in `slots`, where a string child may
 * be kept unwrapped and is turned into a DAtom the first time it is read:
 * as its binary string, or — when its text is a canonical decimal below
 * 2^53 (digits, no leading zero) — as that number, which is exactly what
 * String(n) prints back. A large GET FULLMAILBOX reply holds millions of
 * such values; not allocating a wrapper (or, for most numbers, even a
 * string) for each is what keeps the parser out of the garbage collector.
 * The wrapping is invisible: nodes never change value.
 */
export type Slot = Node | string | number;

export function wrapSlot(v: Slot): Node {
  return typeof v === 'object' ? v : new DAtom(typeof v === 'number' ? String(v) : v);
}

function wrapAt(slots: Slot[], i: number): Node {
  const v = slots[i]!;
  if (typeof v === 'object') return v;
  const n = wrapSlot(v);
  slots[i] = n;
  return n;
}

export class DList extends NodeBase {
  readonly kind = 'list';
  private wrapped = false;

  /** Takes ownership of `slots`: a string slot is an atom's bytes (see Slot). */
  constructor(readonly slots: Slot[]) {
    super();
  }

  get items(): readonly Node[] {
    if (!this.wrapped) {
      for (let i = 0; i < this.slots.length; i++) wrapAt(this.slots, i);
      this.wrapped = true;
    }
    return this.slots as Node[];
  }
  override asList(): readonly Node[] {
    return this.items;
  }
  at(i: number): Node | undefined {
    return i >= 0 && i < this.slots.length ? wrapAt(this.slots, i) : undefined;
  }
  get length(): number {
    return this.slots.length;
  }
}

/** `%(KEY value ...)`. Keys keep wire order and may repeat; get() returns the first. */
export class DKvList extends NodeBase {
  readonly kind = 'kvlist';

  /**
   * Takes ownership of `slots`: key0, value0, key1, value1, ... Keys are
   * binary strings; a string value is an atom's bytes (see Slot).
   */
  constructor(readonly slots: Slot[]) {
    super();
  }

  override get(key: string): Node | undefined {
    const k = textToBinary(key);
    const slots = this.slots;
    for (let i = 0; i < slots.length; i += 2) if (slots[i] === k) return wrapAt(slots, i + 1);
    return undefined;
  }
  get size(): number {
    return this.slots.length >> 1;
  }
  /** Keys as binary strings, in wire order (a fresh array). */
  get keys(): string[] {
    const out: string[] = [];
    for (let i = 0; i < this.slots.length; i += 2) out.push(this.slots[i] as string);
    return out;
  }
  /** Values in wire order (a fresh array). */
  get values(): Node[] {
    const out: Node[] = [];
    for (let i = 1; i < this.slots.length; i += 2) out.push(wrapAt(this.slots, i));
    return out;
  }
  *entries(): IterableIterator<[string, Node]> {
    for (let i = 0; i < this.slots.length; i += 2) yield [this.slots[i] as string, wrapAt(this.slots, i + 1)];
  }
}

/** `%{partition guid size}` CRLF followed by exactly `size` bytes. */
export class DFile extends NodeBase {
  readonly kind = 'file';
  constructor(
    /** Binary string. */
    readonly partition: string,
    /** 40 lower-case hex digits. */
    readonly guid: string,
    readonly size: number,
    readonly source: FileSource,
  ) {
    super();
  }
  /** The body when it is held in memory (always so for parsed file literals). */
  override asBytes(): Buffer | undefined {
    if (this.source.type !== 'bytes') return undefined;
    const chunks = this.source.chunks;
    if (chunks.length === 1) return asBuffer(chunks[0]!);
    return Buffer.concat(chunks.map(asBuffer), this.size);
  }
}

export const NIL: DNil = new DNil();
