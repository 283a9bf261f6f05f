/**
 * A parsed sync-log line back as text (latin1, one char per byte, no LF):
 * the form the retry journal stores and the tests compare.
 */
import { printLine, type SyncLogLine } from '../synclog/index.js';

export function printLineText(line: SyncLogLine): string {
  const bytes = printLine(line);
  return bytes.toString('latin1', 0, bytes.length - 1);
}
