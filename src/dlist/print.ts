/**
 * The printer: DLIST trees → wire bytes, exactly as Cyrus' dlist_print.
 *
 * Output is a list of chunks rather than one buffer so a file literal whose
 * body lives on disk is passed through as a BodyRef for stream-out.ts to
 * copy; in-memory bodies are passed through as their own Buffers (not
 * copied into the text). Text between bodies is built as one binary string
 * and converted once, which is the fastest path V8 offers.
 *
 * Spacing follows dlist_print: one space between a key and its value and
 * between items, none inside the brackets.
 */
import { Buffer } from 'node:buffer';
import { asBuffer } from './binary.js';
import { printAstring } from './astring.js';
import type { FileSource, Keyed, Node, Slot } from './node.js';

export interface PrintOptions {
  /**
   * `'plus'` (default) prints `{n+}` like every Cyrus client stream — and
   * the 3.6.1 sync_server, which marks its output as a client stream too.
   * `'sync'` prints `{n}` as imapd and master sync_server do in responses.
   */
  literal?: 'plus' | 'sync';
}

/** A file body the printer did not read: stream-out.ts copies `size` bytes from `source`. */
export interface BodyRef {
  readonly size: number;
  readonly source: Exclude<FileSource, { type: 'bytes' }>;
  /** For error messages. */
  readonly guid: string;
}

export type OutChunk = Buffer | BodyRef;

export function isBodyRef(c: OutChunk): c is BodyRef {
  return !Buffer.isBuffer(c);
}

/**
 * Text is cut into a Buffer whenever it passes this many chars: V8 builds
 * `+=` strings as ropes, and a rope of millions of pieces that lives until
 * the end of a big print would all be promoted and then flattened at once.
 */
const CUT_AT = 32 * 1024;

/** Accumulates text as a binary string and cuts it into Buffers (at each body, and every CUT_AT). */
export class ChunkWriter {
  private text = '';
  private readonly out: OutChunk[] = [];
  private readonly plus: boolean;

  constructor(opts: PrintOptions = {}) {
    this.plus = opts.literal !== 'sync';
  }

  /** Binary-string text, written as is. */
  raw(s: string): this {
    this.text += s;
    return this;
  }

  astring(raw: string): this {
    this.text += printAstring(raw, this.plus);
    return this;
  }

  keyed(item: Keyed): this {
    this.astring(item.name);
    this.text += ' ';
    return this.node(item.value);
  }

  node(n: Node): this {
    switch (n.kind) {
      case 'nil':
        this.text += 'NIL';
        break;
      case 'atom':
        this.text += printAstring(n.raw, this.plus);
        break;
      case 'flag':
        this.text += n.raw;
        break;
      case 'list': {
        this.text += '(';
        const slots = n.slots;
        for (let i = 0; i < slots.length; i++) {
          if (i > 0) this.text += ' ';
          this.slot(slots[i]!);
        }
        this.text += ')';
        break;
      }
      case 'kvlist': {
        this.text += '%(';
        const slots = n.slots;
        for (let i = 0; i < slots.length; i += 2) {
          if (i > 0) this.text += ' ';
          this.text += printAstring(slots[i] as string, this.plus);
          this.text += ' ';
          this.slot(slots[i + 1]!);
        }
        this.text += ')';
        break;
      }
      case 'file': {
        this.text += `%{${printAstring(n.partition, this.plus)} ${printAstring(n.guid, this.plus)} ${n.size}}\r\n`;
        this.cut();
        const src = n.source;
        if (src.type === 'bytes') {
          for (const c of src.chunks) if (c.byteLength > 0) this.out.push(asBuffer(c));
        } else {
          this.out.push({ size: n.size, source: src, guid: n.guid });
        }
        break;
      }
    }
    return this;
  }

  /** Ends the current line. */
  crlf(): this {
    this.text += '\r\n';
    return this;
  }

  finish(): OutChunk[] {
    this.cut();
    return this.out;
  }

  /** One list item or kvlist value: a nested node, an unwrapped number or an unwrapped string. */
  private slot(v: Slot): void {
    if (typeof v === 'object') this.node(v);
    else if (typeof v === 'number') this.text += v;
    else this.text += printAstring(v, this.plus);
    if (this.text.length > CUT_AT) this.cut();
  }

  private cut(): void {
    if (this.text.length > 0) this.out.push(Buffer.from(this.text, 'latin1'));
    this.text = '';
  }
}

/** A value alone (no key, no CRLF). */
export function printNode(node: Node, opts?: PrintOptions): OutChunk[] {
  return new ChunkWriter(opts).node(node).finish();
}

/** `KEY value` (no CRLF), as dlist_print with printkeys. */
export function printItem(item: Keyed, opts?: PrintOptions): OutChunk[] {
  return new ChunkWriter(opts).keyed(item).finish();
}

/**
 * A sync command as sync_client sends it: `[tag SP] VERB [SP KEY SP value] CRLF`,
 * e.g. printCommand('GET', keyed('USER', 'alice')) → `GET USER alice\r\n`,
 * or printCommand('SYNCAPPLY', item, { tag: 'S3' }) in IMAP mode.
 */
export function printCommand(verb: string, item?: Keyed | null, opts?: PrintOptions & { tag?: string }): OutChunk[] {
  const w = new ChunkWriter(opts);
  if (opts?.tag !== undefined) w.raw(`${opts.tag} `);
  w.raw(verb);
  if (item) w.raw(' ').keyed(item);
  return w.crlf().finish();
}

/** Total bytes the chunks will put on the wire. */
export function chunksSize(chunks: readonly OutChunk[]): number {
  let n = 0;
  for (const c of chunks) n += isBodyRef(c) ? c.size : c.length;
  return n;
}

/** Joins chunks held in memory; throws TypeError if a body must be streamed. */
export function chunksToBuffer(chunks: readonly OutChunk[]): Buffer {
  if (chunks.length === 1 && !isBodyRef(chunks[0]!)) return chunks[0] as Buffer;
  const bufs: Buffer[] = [];
  for (const c of chunks) {
    if (isBodyRef(c)) throw new TypeError(`file literal ${c.guid} must be streamed (use writeChunks)`);
    bufs.push(c);
  }
  return Buffer.concat(bufs);
}
