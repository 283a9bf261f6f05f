/**
 * One-shot parsing of a single DLIST held whole in memory, for callers that
 * are not reading a stream (config, caches, tests): parseNode('%(A 1)'),
 * parseItem('MAILBOX %(...)'). Throws DlistError on bad input.
 */
import { binaryToBytes } from './binary.js';
import { Cursor, DEFAULT_MAX_DEPTH, orThrow } from './cursor.js';
import { DlistError } from './errors.js';
import { Framer, type Frame, type FrameLimits } from './frame.js';
import type { Keyed, Node } from './node.js';

export interface OneShotOptions extends FrameLimits {
  maxDepth?: number;
}

/** `data` is bytes or a binary string; a trailing CRLF is optional. */
function oneFrame(data: Uint8Array | string, opts: OneShotOptions): Frame {
  const bytes = typeof data === 'string' ? binaryToBytes(data) : data;
  const framer = new Framer(opts);
  const frames: Frame[] = [];
  let err = framer.feed(bytes, (f) => frames.push(f));
  if (!err && framer.buffered > 0) err = framer.feed(binaryToBytes('\r\n'), (f) => frames.push(f));
  if (!err) err = framer.end();
  if (err) throw err;
  if (frames.length !== 1) throw new DlistError('SYNTAX', `expected one line, got ${frames.length}`);
  return frames[0]!;
}

export function parseNode(data: Uint8Array | string, opts: OneShotOptions = {}): Node {
  const cur = new Cursor(oneFrame(data, opts), opts.maxDepth ?? DEFAULT_MAX_DEPTH);
  return orThrow(() => {
    cur.skipSpaces();
    const node = cur.value(0);
    cur.expectEnd();
    return node;
  });
}

export function parseItem(data: Uint8Array | string, opts: OneShotOptions = {}): Keyed {
  const cur = new Cursor(oneFrame(data, opts), opts.maxDepth ?? DEFAULT_MAX_DEPTH);
  return orThrow(() => cur.keyedLine());
}
