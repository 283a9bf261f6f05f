/**
 * How Cyrus prints a string: prot_printastring / prot_printmap (lib/prot.c,
 * lib/imparse.c @3.6.1). The choice is a pure function of the bytes, which
 * is what makes print∘parse byte-exact on real traffic.
 *
 *   ""                      → `""`
 *   valid atom, not `NIL`   → bare
 *   else < 1024 bytes of QCHARs → `"..."`, no escapes
 *   else                    → literal `{n+}` CRLF bytes (`{n}` for a server stream)
 *
 * Atom: 1–1023 bytes, none 8-bit, < 0x1F or 0x7F (0x1F itself is allowed:
 * imparse_isnatom tests `< 0x1f`), none of SP { ( ) " % * \.
 * QCHAR: any byte except 8-bit, NUL, CR, LF, " % \  (so TAB is fine: ACLs go quoted).
 */

/** 1: may appear in an atom; 2: may appear in a quoted string. */
const CLASS = new Uint8Array(256);
for (let c = 0; c < 256; c++) {
  let k = 0;
  if (c < 0x80 && c >= 0x1f && c !== 0x7f && !' {()"%*\\'.includes(String.fromCharCode(c))) k |= 1;
  if (c < 0x80 && c !== 0 && c !== 0x0d && c !== 0x0a && c !== 0x22 && c !== 0x25 && c !== 0x5c) k |= 2;
  CLASS[c] = k;
}

const MAX_SHORT = 1024;

export const ATOM = 0;
export const QUOTED = 1;
export const LITERAL = 2;
export type AstringForm = typeof ATOM | typeof QUOTED | typeof LITERAL;

/** Which form Cyrus would use for these bytes (a binary string). */
export function astringForm(raw: string): AstringForm {
  const n = raw.length;
  if (n === 0) return QUOTED;
  if (n >= MAX_SHORT) return LITERAL;
  let all = 3;
  for (let i = 0; i < n; i++) {
    // Atom chars are a subset of QCHARs, so anything below 2 means a literal.
    all &= CLASS[raw.charCodeAt(i)] ?? 0;
    if (all < 2) return LITERAL;
  }
  return all === 3 && raw !== 'NIL' ? ATOM : QUOTED;
}

/** True when the bytes print bare (used to validate flags and keys in builders). */
export function isAtom(raw: string): boolean {
  return raw.length > 0 && astringForm(raw) === ATOM;
}

/** The literal header; `plus` selects the non-synchronising `{n+}` form. */
export function literalHeader(size: number, plus: boolean): string {
  return plus ? `{${size}+}\r\n` : `{${size}}\r\n`;
}

/** `raw` printed by the astring rule, as a binary string. */
export function printAstring(raw: string, plus: boolean): string {
  switch (astringForm(raw)) {
    case ATOM:
      return raw;
    case QUOTED:
      return `"${raw}"`;
    default:
      return literalHeader(raw.length, plus) + raw;
  }
}
