/**
 * syncmux-client's command line: stock sync_client's, 3.6.1's short
 * options with 3.10's additions (its long options, `-a`
 * --stage-to-archive, and `-o` --connect-once, which 3.6.1 parsed and did
 * not use), plus BlueMind's `-i <shard>` (process `log.<i>`/`log-run.<i>`
 * of the channel). Pure: returns options or a usage error; the CLI prints
 * usage and exits 64 (EX_USAGE) as stock does.
 */
import { atoi, getopt } from './getopt.js';

export const SYNC_CLIENT_GETOPT = 'C:vlLS:F:f:w:t:d:n:rRNumsozOAap:1i:';

/** sync_client 3.10's getopt_long table (imap/sync_client.c); there is no long form of -C. */
export const SYNC_CLIENT_LONG_OPTIONS: Readonly<Record<string, string>> = {
  'rolling-once': '1', 'all-users': 'A', 'shutdown-file': 'F', 'local-only': 'L', 'skip-locked': 'N',
  'no-copyback': 'O', 'foreground-rolling': 'R', server: 'S', 'stage-to-archive': 'a', delay: 'd',
  'input-file': 'f', 'verbose-logging': 'l', mailboxes: 'm', channel: 'n', 'connect-once': 'o',
  'dest-partition': 'p', rolling: 'r', 'sieve-mode': 's', timeout: 't', userids: 'u', verbose: 'v',
  'delayed-startup': 'w', 'require-compression': 'z',
};

export type ClientMode = 'rolling' | 'users' | 'mailboxes' | 'meta' | 'allUsers';

export interface ClientOptions {
  configFile?: string;
  mode: ClientMode;
  /** -r: rolling in the background (fork) unless -f or CYRUS_ISDAEMON. */
  background: boolean;
  /** -1: one log file, then exit. */
  once: boolean;
  serverOverride?: string;
  channel?: string;
  inputFile?: string;
  shutdownFile?: string;
  /** -t: seconds between reconnects in rolling mode (stock default 600). */
  restartTimeout: number;
  /** -d: minimum cycle seconds; undefined = sync_repeat_interval. */
  minDelta?: number;
  /** -w: seconds to sleep before starting. */
  startDelay: number;
  partition?: string;
  nonBlocking: boolean;
  localOnly: boolean;
  noCopyback: boolean;
  requireCompression: boolean;
  /** `-o` (3.9+): a failed connect exits 1 at once instead of retrying; 3.6.1 parsed it and did not use it. */
  connectOnce: boolean;
  /** `-a` (3.10): ask the replica to store what it receives on its archive partition (REPLICATION-ARCHIVE). */
  stageToArchive: boolean;
  verbose: number;
  verboseLogging: boolean;
  /** BlueMind extension: shard index. */
  shard?: number;
  /** Users, mailboxes or (-A) a prefix. */
  objects: string[];
}

/** `getoptError` marks errors getopt itself reports (stock prints them as "<prog>: <error>"). */
export type ClientOptionsResult = { ok: true; options: ClientOptions } | { ok: false; error: string; getoptError?: boolean };

const MODE_FLAGS: Record<string, ClientMode> = { r: 'rolling', R: 'rolling', u: 'users', m: 'mailboxes', s: 'meta', A: 'allUsers' };

export function parseClientOptions(argv: readonly string[]): ClientOptionsResult {
  const parsed = getopt(argv, SYNC_CLIENT_GETOPT, SYNC_CLIENT_LONG_OPTIONS);
  if (!parsed.ok) return { ...parsed, getoptError: true };
  let mode: ClientMode | undefined;
  const o: Omit<ClientOptions, 'mode'> = {
    background: false, once: false, restartTimeout: 600, startDelay: 0, nonBlocking: false,
    localOnly: false, noCopyback: false, requireCompression: false, connectOnce: false, stageToArchive: false,
    verbose: 0, verboseLogging: false, objects: parsed.operands,
  };
  for (const { flag, value = '' } of parsed.options) {
    const modeFlag = MODE_FLAGS[flag];
    if (modeFlag) {
      if (mode) return { ok: false, error: 'Mutually exclusive options defined' };
      mode = modeFlag;
      if (flag === 'r') o.background = true;
      continue;
    }
    switch (flag) {
      case 'C': o.configFile = value; break;
      case 'v': o.verbose++; break;
      case 'l': o.verboseLogging = true; break;
      case 'L': o.localOnly = true; break;
      case 'S': o.serverOverride = value; break;
      case 'F': o.shutdownFile = value; break;
      case 'f': o.inputFile = value; break;
      case 'w': o.startDelay = atoi(value); break;
      case 't': o.restartTimeout = atoi(value); break;
      case 'd': o.minDelta = atoi(value); break;
      case 'n': o.channel = value; break;
      case 'N': o.nonBlocking = true; break;
      case 'o': o.connectOnce = true; break;
      case 'a': o.stageToArchive = true; break;
      case 'z': o.requireCompression = true; break;
      case 'O': o.noCopyback = true; break;
      case 'p': o.partition = value; break;
      case '1': o.once = true; break;
      case 'i': {
        const shard = atoi(value);
        if (shard < 0 || !/^\s*\+?\d+/.test(value)) return { ok: false, error: `invalid shard index '${value}'` };
        o.shard = shard;
        break;
      }
    }
  }
  if (!mode) return { ok: false, error: 'No replication mode specified' };
  if (o.background && o.inputFile) o.background = false;
  return { ok: true, options: { ...o, mode } };
}

/** The stderr text stock sync_client prints before exiting 64. */
export function usageError(result: { error: string; getoptError?: boolean }, program: string): string {
  const usage = `Usage: ${program} -S <servername> [-C <alt_config>] [-r] [-v] mailbox...`;
  return result.getoptError ? `${program}: ${result.error}\n${usage}\n` : `${result.error}\n\n${usage}\n`;
}
