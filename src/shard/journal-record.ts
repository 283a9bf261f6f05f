/**
 * The retry journal's record format: one LF-terminated latin1 text line per
 * record, fields separated by single spaces.
 *
 *   + <key> <bornMs> <sync-log line>   queue the line behind the key's pending lines
 *   ! <key> <attempts> <dueMs>         the key's retry state from here on
 *   - <key> <count>                    the key's first <count> pending lines are confirmed;
 *                                      its retry state goes back to 0 attempts, due now
 *
 * <key> is the shard key with every byte <= 0x20, `%` and 0x7F written as
 * %XX, so it never holds a space or LF; the empty key is a lone `%`. The
 * sync-log line is kept exactly as Cyrus prints it. Replaying the records in
 * file order rebuilds the state. A torn last record (a crash mid-append)
 * is cut off on open: its append was never acknowledged, so its lines are
 * still in their source.
 */

export type JournalRecord =
  | { readonly kind: '+'; readonly key: string; readonly bornMs: number; readonly line: string }
  | { readonly kind: '!'; readonly key: string; readonly attempts: number; readonly dueMs: number }
  | { readonly kind: '-'; readonly key: string; readonly count: number };

export function escapeKey(key: string): string {
  if (key === '') return '%';
  return key.replace(/[\x00-\x20%\x7f]/g, (c) => `%${c.charCodeAt(0).toString(16).padStart(2, '0').toUpperCase()}`);
}

export function unescapeKey(text: string): string | null {
  if (text === '%') return '';
  if (/%(?![0-9A-Fa-f]{2})/.test(text)) return null;
  return text.replace(/%([0-9A-Fa-f]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
}

export function queueRecord(key: string, bornMs: number, line: string): string {
  return `+ ${escapeKey(key)} ${Math.trunc(bornMs)} ${line}\n`;
}

export function stateRecord(key: string, attempts: number, dueMs: number): string {
  return `! ${escapeKey(key)} ${attempts} ${Math.trunc(dueMs)}\n`;
}

export function confirmRecord(key: string, count: number): string {
  return `- ${escapeKey(key)} ${count}\n`;
}

const NUMBER = /^\d{1,16}$/;

/** Parses one record (LF optional); null for anything malformed, e.g. a torn tail. */
export function parseRecord(text: string): JournalRecord | null {
  if (text.endsWith('\n')) text = text.slice(0, -1);
  const kind = text[0];
  if (text[1] !== ' ' || (kind !== '+' && kind !== '!' && kind !== '-')) return null;
  const keyEnd = text.indexOf(' ', 2);
  if (keyEnd < 0) return null;
  const key = unescapeKey(text.slice(2, keyEnd));
  if (key === null) return null;
  const rest = text.slice(keyEnd + 1);
  if (kind === '-') return NUMBER.test(rest) ? { kind, key, count: Number(rest) } : null;
  const space = rest.indexOf(' ');
  if (space < 0) return null;
  const first = rest.slice(0, space);
  const second = rest.slice(space + 1);
  if (!NUMBER.test(first)) return null;
  if (kind === '+') return second === '' ? null : { kind, key, bornMs: Number(first), line: second };
  return NUMBER.test(second) ? { kind, key, attempts: Number(first), dueMs: Number(second) } : null;
}
