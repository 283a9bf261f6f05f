/**
 * A small, tolerant IMAP response tokenizer for the test harness: turns one
 * untagged response (literals already inlined by the client) into nested
 * arrays of atoms/strings. Only what compare and the tests need; the
 * replication wire codec lives in src/dlist.
 */

export type ImapToken = string | null | ImapToken[];

/** A literal body spliced into the line by the client. */
export class LiteralBytes {
  constructor(readonly bytes: Buffer) {}
}

export type ImapPart = string | LiteralBytes;

export function tokenize(parts: readonly ImapPart[]): ImapToken[] {
  const root: ImapToken[] = [];
  const stack: ImapToken[][] = [root];
  const top = (): ImapToken[] => stack[stack.length - 1]!;
  for (const part of parts) {
    if (part instanceof LiteralBytes) {
      top().push(part.bytes.toString('latin1'));
      continue;
    }
    let i = 0;
    while (i < part.length) {
      const c = part[i]!;
      if (c === ' ' || c === '\r' || c === '\n') {
        i++;
      } else if (c === '(' || c === '[') {
        const list: ImapToken[] = [];
        top().push(list);
        stack.push(list);
        i++;
      } else if (c === ')' || c === ']') {
        if (stack.length > 1) stack.pop();
        i++;
      } else if (c === '"') {
        let value = '';
        i++;
        while (i < part.length && part[i] !== '"') {
          if (part[i] === '\\') i++;
          value += part[i] ?? '';
          i++;
        }
        i++;
        top().push(value);
      } else if (c === '{' && /^\{\d+\+?\}$/.test(part.slice(i))) {
        break; // literal marker at line end; the body follows as a LiteralBytes part
      } else {
        let j = i;
        while (j < part.length && !' ()[]"\r\n'.includes(part[j]!)) j++;
        // BODY[...] style atoms keep their brackets glued: "BODY[]" stays one token.
        if (part[j] === '[' && j > i) {
          const close = part.indexOf(']', j);
          if (close >= 0) j = close + 1;
        }
        const atom = part.slice(i, j);
        top().push(atom === 'NIL' ? null : atom);
        i = j;
      }
    }
  }
  return root;
}

/** FETCH item list → map of upper-cased item name to value. */
export function pairs(list: ImapToken): Map<string, ImapToken> {
  const out = new Map<string, ImapToken>();
  if (!Array.isArray(list)) return out;
  for (let i = 0; i + 1 < list.length; i += 2) {
    const key = list[i];
    if (typeof key === 'string') out.set(key.toUpperCase(), list[i + 1]!);
  }
  return out;
}

export function quote(value: string): string {
  return `"${value.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}
