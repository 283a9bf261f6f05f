/**
 * Cyrus-style logging for the CLIs: syslog(3) through the addon with
 * `<syslog_prefix>/<program>` as ident (as Cyrus builds it) and the
 * configured facility (syslog_facility, default LOCAL6), plus the -v
 * verbose lines on stdout. Healthy paths log nothing at LOG_ERR.
 */
import { openlog, syslog } from '../native/index.js';
import type { CyrusConfig } from '../cyrus/index.js';

export type Priority = 'err' | 'warning' | 'notice' | 'info' | 'debug';

const LEVEL: Record<Priority, number> = { err: 3, warning: 4, notice: 5, info: 6, debug: 7 };
const FACILITIES: Record<string, number> = {
  LOCAL0: 16, LOCAL1: 17, LOCAL2: 18, LOCAL3: 19, LOCAL4: 20, LOCAL5: 21, LOCAL6: 22, LOCAL7: 23,
  MAIL: 2, DAEMON: 3, USER: 1,
};

export interface Logger {
  log(priority: Priority, message: string): void;
  /** -v output on stdout. */
  verbose(message: string): void;
}

export function openLogger(program: string, config: CyrusConfig | null, opts: { verbose: number; verboseLogging: boolean }): Logger {
  const prefix = config?.raw.get('syslog_prefix');
  const ident = prefix ? `${prefix}/${program}` : program;
  const facilityName = (config?.raw.get('syslog_facility') ?? 'LOCAL6').toUpperCase().replace(/^LOG_/, '');
  const facility = (FACILITIES[facilityName] ?? 22) << 3;
  openlog(ident, facility);
  return {
    log(priority, message) {
      // -l turns on LOG_INFO; without it, Cyrus tools still log info lines, so do we.
      if (priority === 'debug' && !opts.verboseLogging) return;
      syslog(LEVEL[priority] | facility, message);
      if (opts.verbose > 0 && priority !== 'debug') process.stdout.write(`${message}\n`);
    },
    verbose(message) {
      if (opts.verbose > 0) process.stdout.write(`${message}\n`);
    },
  };
}
