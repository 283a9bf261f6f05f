/**
 * The exit codes of every syncmux command, one table: stock sync_client's
 * (sysexits.h, as Cyrus uses them) and what each means here.
 */
export const EXIT = {
  /** Done; the shutdown file; a drop-in rolling pass the replica left (stock's do_daemon). */
  OK: 0,
  /** A failed object, user or shard; a divergence (verify); a timeout (wait). */
  FAIL: 1,
  /** wait: no syncmux run answers on the channel's socket. */
  DAEMON_DOWN: 2,
  /** status: the status file is there but its daemon is not running (or silent for 10 s). */
  DAEMON_STALE: 3,
  /** Bad command line; started as root and cannot become cyrus. */
  USAGE: 64,
  /** No sync_host, or an internal error. */
  SOFTWARE: 70,
  /** Stopped by SIGTERM/SIGINT/SIGQUIT; the replica unreachable (verify). */
  TEMPFAIL: 75,
  /** A setting that cannot be used. */
  CONFIG: 78,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** The exit code for an endpoint that cannot be used, as stock's. */
export function exitCodeOf(error: { kind: 'no-host' | 'config' }): ExitCode {
  return error.kind === 'no-host' ? EXIT.SOFTWARE : EXIT.CONFIG;
}
