/**
 * syncmux-client's --help and --version. Stock sync_client has neither:
 * its getopt rejects `--help` as an invalid option (exit 64), so accepting
 * them as the only argument changes nothing a stock command line relies on.
 */
import { packageVersion } from './version.js';

export const CLIENT_HELP = `usage: syncmux-client [-C <imapd.conf>] [-n <channel>] [-S <server>] [options] <mode> [objects...]
A drop-in for Cyrus IMAP 3.6's sync_client (same options, config keys, exit codes).
modes:
  -r            rolling replication of the channel's sync log (forks unless run by cyrmaster)
  -R            rolling, in the foreground
  -u USER...    whole users            -m MAILBOX...  mailboxes (admin namespace)
  -s USER...    seen state and subscriptions        -A [PREFIX]   every user and shared mailbox
options:
  -C FILE  imapd.conf (default /etc/imapd.conf)     -n CHANNEL  sync-log channel
  -S HOST  replica (overrides sync_host)             -p PART     replica partition
  -f FILE  with -r/-R: replay this log file; else read objects from it
  -1       rolling: one pass, then exit              -i N        rolling: shard log log.N (BlueMind)
  -F FILE  shutdown file                             -d SECS     minimum rolling cycle
  -w SECS  wait before starting                      -t SECS     rolling restart timeout (parsed)
  -N       skip users another client holds           -O          never copy back (APPLY FORCE)
  -z       require compression                       -o          connect once (3.9+; unused up to 3.8)
  -a       stage to archive (3.10)                   --LONG      3.10's long options (--connect-once, …)
  -l       verbose logging                           -v          verbose (twice: protocol trace)
  --help   this text                                 --version   print the version
exit: 0 done or shutdown file, 1 failure, 64 usage, 70 no sync_host, 75 SIGTERM/SIGINT/SIGQUIT
See syncmux-client(8).
`;

/** What to print for `--help` / `--version` given alone (exit 0), else null. */
export function clientInfoRequest(argv: readonly string[]): string | null {
  if (argv.length !== 1) return null;
  if (argv[0] === '--help') return CLIENT_HELP;
  if (argv[0] === '--version') return `syncmux-client ${packageVersion()}\n`;
  return null;
}
