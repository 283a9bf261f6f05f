/**
 * Binary strings: the codec's in-memory form of wire bytes.
 *
 * DLIST values are byte strings (Cyrus never assumes an encoding). Holding
 * them as JS strings with one char per byte (latin1) keeps parsing and
 * printing on V8's fast one-byte string paths and makes print∘parse exact
 * for any byte. Text supplied by callers is UTF-8 encoded on the way in and
 * decoded on the way out (`asString`).
 */
import { Buffer } from 'node:buffer';

const NON_ASCII = /[^\x00-\x7f]/;

export function isAscii(s: string): boolean {
  return !NON_ASCII.test(s);
}

/** Text (any Unicode) → binary string of its UTF-8 bytes. */
export function textToBinary(text: string): string {
  return isAscii(text) ? text : Buffer.from(text, 'utf8').toString('latin1');
}

/** Binary string → text, decoding UTF-8 (invalid sequences become U+FFFD). */
export function binaryToText(raw: string): string {
  return isAscii(raw) ? raw : Buffer.from(raw, 'latin1').toString('utf8');
}

export function bytesToBinary(bytes: Uint8Array): string {
  return asBuffer(bytes).toString('latin1');
}

export function binaryToBytes(raw: string): Buffer {
  return Buffer.from(raw, 'latin1');
}

/** A Buffer view of any Uint8Array, without copying. */
export function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
