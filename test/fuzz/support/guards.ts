/**
 * What every fuzz case is held to, beyond "throws only its typed errors":
 * no Buffer allocation larger than a cap (a corrupt length field must be
 * capped by the file size, never trusted), no positioned read at a bad
 * offset or much longer than the file, a bounded number of reads (no pointer loop), and
 * a bounded time per case. Violations are recorded, not thrown, so a
 * reader's own catch-all cannot hide them.
 */
import { Buffer } from 'node:buffer';

/** Fuzz inputs are a few KiB; anything near this is a length field taken on trust. */
export const ALLOC_CAP = 8 * 1024 * 1024;
export const READ_CAP = 100_000;
export const CASE_MS = 2_000;

const violations: string[] = [];

export function violation(what: string): void {
  if (violations.length < 16) violations.push(what);
}

/** The violations recorded since the last call, emptied. */
export function takeViolations(): string[] {
  return violations.splice(0);
}

let installed = false;

/** Wraps Buffer's allocators so an oversized request is recorded (and refused, as it would fail anyway). */
export function installAllocationGuard(): void {
  if (installed) return;
  installed = true;
  for (const name of ['alloc', 'allocUnsafe', 'allocUnsafeSlow'] as const) {
    const original = Buffer[name] as (size: number, ...rest: unknown[]) => Buffer;
    (Buffer as unknown as Record<string, unknown>)[name] = function guarded(size: number, ...rest: unknown[]): Buffer {
      if (typeof size === 'number' && size > ALLOC_CAP) {
        violation(`Buffer.${name}(${size})`);
        throw new Error(`fuzz guard: Buffer.${name}(${size}) refused`);
      }
      return original.call(Buffer, size, ...rest);
    };
  }
}

/** A positioned reader over an image, as readRangeFd gives (short at EOF), that checks every request. */
export function guardedReadAt(image: Buffer): (offset: number, length: number) => Buffer {
  let reads = 0;
  return (offset, length) => {
    if (++reads > READ_CAP) {
      violation(`more than ${READ_CAP} reads (loop?)`);
      throw new Error('fuzz guard: read budget exhausted');
    }
    // readRangeFd allocates `length` first and returns short at EOF: a small over-read is harmless, a huge one is not.
    if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 || length > Math.max(image.length, 65536)) {
      violation(`read(${offset}, ${length}) on a ${image.length}-byte file`);
      throw new Error('fuzz guard: bad read');
    }
    return Buffer.from(image.subarray(offset, offset + length));
  };
}
