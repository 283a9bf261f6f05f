/**
 * Who owns an internal mailbox name, following mbname_from_intname and
 * mbname_userid (imap/mboxname.c @3.6.1), on raw bytes and without
 * allocating:
 * - `domain!` before the first `!` is the domain; dropped if it equals
 *   defaultdomain;
 * - the rest splits on `.`, empty components skipped (strtok), `^` standing
 *   for a literal dot;
 * - with 3+ components and the first equal to deletedprefix, the first and
 *   the last (hex timestamp) are dropped;
 * - then with 2+ components and the first equal to `user`, the second is the
 *   localpart, and the userid is localpart[@domain].
 * Anything else is a shared (non-user) mailbox.
 */

const BANG = 0x21;
const DOT = 0x2e;
const CARET = 0x5e;
const AT = 0x40;
const USER = Buffer.from('user', 'latin1');

/** Result slots, reused from call to call. Ranges index the source bytes. */
export class NameOwner {
  isUser = false;
  hasDomain = false;
  domainStart = 0;
  domainEnd = 0;
  /** The localpart as written in the name: `^` still stands for `.`. */
  localStart = 0;
  localEnd = 0;
}

export interface NameRules {
  /** deletedprefix, default `DELETED`. */
  readonly deletedPrefix: Uint8Array;
  /** defaultdomain, dropped from names and userids; null keeps every domain. */
  readonly defaultDomain: Uint8Array | null;
}

/** Fills `out` with the owner of the internal mailbox name src[start, end). */
export function findNameOwner(src: Uint8Array, start: number, end: number, rules: NameRules, out: NameOwner): void {
  out.isUser = false;
  out.hasDomain = false;
  let rest = start;
  const bang = indexOfByte(src, BANG, start, end);
  if (bang >= 0) {
    out.hasDomain = !(rules.defaultDomain !== null && bytesEqual(src, start, bang, rules.defaultDomain));
    out.domainStart = start;
    out.domainEnd = bang;
    rest = bang + 1;
  }

  // The first three non-empty components and how many there are in all.
  let count = 0;
  let s0 = 0, e0 = 0, s1 = 0, e1 = 0, s2 = 0, e2 = 0;
  let i = rest;
  while (i < end) {
    if (src[i] === DOT) {
      i++;
      continue;
    }
    const componentStart = i;
    while (i < end && src[i] !== DOT) i++;
    if (count === 0) {
      s0 = componentStart;
      e0 = i;
    } else if (count === 1) {
      s1 = componentStart;
      e1 = i;
    } else if (count === 2) {
      s2 = componentStart;
      e2 = i;
    }
    count++;
  }

  if (count > 2 && bytesEqualUnescaped(src, s0, e0, rules.deletedPrefix)) {
    count -= 2;
    s0 = s1;
    e0 = e1;
    s1 = s2;
    e1 = e2;
  }
  if (count > 1 && bytesEqual(src, s0, e0, USER)) {
    out.isUser = true;
    out.localStart = s1;
    out.localEnd = e1;
  }
}

/**
 * The domain part of an external userid: after the last `@`, as
 * mbname_from_userid splits it. Returns the end of the part to keep
 * (the `@` when the domain is the default domain, else `end`).
 */
export function useridKeepEnd(src: Uint8Array, start: number, end: number, rules: NameRules): number {
  if (rules.defaultDomain === null) return end;
  const at = lastIndexOfByte(src, AT, start, end);
  if (at >= 0 && bytesEqual(src, at + 1, end, rules.defaultDomain)) return at;
  return end;
}

function indexOfByte(src: Uint8Array, byte: number, start: number, end: number): number {
  for (let i = start; i < end; i++) if (src[i] === byte) return i;
  return -1;
}

function lastIndexOfByte(src: Uint8Array, byte: number, start: number, end: number): number {
  for (let i = end - 1; i >= start; i--) if (src[i] === byte) return i;
  return -1;
}

function bytesEqual(src: Uint8Array, start: number, end: number, expected: Uint8Array): boolean {
  if (end - start !== expected.length) return false;
  for (let i = 0; i < expected.length; i++) if (src[start + i] !== expected[i]) return false;
  return true;
}

/** Compares a name component, in which `^` stands for `.`, with plain bytes. */
function bytesEqualUnescaped(src: Uint8Array, start: number, end: number, expected: Uint8Array): boolean {
  if (end - start !== expected.length) return false;
  for (let i = 0; i < expected.length; i++) {
    const byte = src[start + i]!;
    if ((byte === CARET ? DOT : byte) !== expected[i]) return false;
  }
  return true;
}
