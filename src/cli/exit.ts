/**
 * How the CLIs end: with their exit code once the event loop has drained,
 * so that what they wrote to a pipe is flushed and a handle left open shows
 * up instead of being cut off by process.exit. A handle still open after
 * graceMs is cut off then; SYNCMUX_EXIT_TRACE=<file> appends its kinds
 * there (for finding such leaks).
 */
import fs from 'node:fs';

export function exitWhenDrained(code: number, graceMs = 2000): void {
  process.exitCode = code;
  setTimeout(() => {
    const trace = process.env.SYNCMUX_EXIT_TRACE;
    if (trace) fs.appendFileSync(trace, `${process.pid} ${process.argv.slice(2).join(' ')}: open at exit: ${process.getActiveResourcesInfo().join(', ')}\n`);
    process.exit(code);
  }, graceMs).unref();
}
