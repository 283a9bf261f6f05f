#!/usr/bin/env node
/**
 * `syncmux`: the daemon and admin CLI. Subcommands:
 *   split  -C <imapd.conf> -n <channel> --shards N [--once]   split the channel log into shard logs
 *   run    -C <imapd.conf> -n <channel> --shards N [--once]   splitter + N shard workers in one process
 *   status | metrics | resync --user U | skip --user U | unskip --user U | wait --user U [--timeout MS]
 *   verify --user U | --all [--json] [--repair]                 read-only audit, exit 1 on divergence
 *   --help, --version, <command> --help
 * Every subcommand reads imapd.conf like Cyrus and runs as the cyrus user.
 */
import './runtime.js';
import { parseArgs } from 'node:util';
import { loadConfig } from '../cyrus/index.js';
import { becomeCyrus, PrivilegeError, useCyrusUmask } from './privileges.js';
import { openLogger } from './logger.js';
import { packageVersion } from './version.js';
import { channelDirOf, commands, stopSignal, LOADS_WORKERS, type CommandContext } from './syncmux-commands.js';
import { EXIT } from './exit-codes.js';
import { exitWhenDrained } from './exit.js';

const COMMANDS: ReadonlyArray<readonly [string, string, string]> = [
  ['split', '--shards N [--once]', 'split the channel log into N shard logs'],
  ['run', '--shards N [--once]', 'splitter and N shard workers in one process'],
  ['status', '', 'shard backlogs, retries, skipped users'],
  ['metrics', '', 'the same in Prometheus text format'],
  ['resync', '--user U', 'ask for a full resync of one user'],
  ['skip', '--user U', 'stop replicating one user (lines are parked, not lost)'],
  ['unskip', '--user U', 'resume a skipped user'],
  ['wait', '--user U [--timeout MS]', 'wait until everything logged for U so far is on the replica'],
  ['verify', '--user U | --all [--json] [--repair]', 'read-only audit of the replica; exit 1 on any divergence'],
  ['handback', '', 'put every line the stopped daemon holds into log-run, for sync_client -r'],
];

const commandLine = ([name, args, what]: readonly [string, string, string]) => `  ${`${name} ${args}`.padEnd(46)} ${what}\n`;

const USAGE = `usage: syncmux <command> -C <imapd.conf> [-n <channel>] [-v] [options]
       syncmux --help | --version | <command> --help
commands:
${COMMANDS.map(commandLine).join('')}See syncmux(8).
`;

/** --help, -h, help, --version (alone), or `<command> --help`: the text to print with exit 0, else null. */
function infoRequest(argv: string[]): string | null {
  const [first, second] = argv;
  if (argv.length === 1 && (first === '--help' || first === '-h' || first === 'help')) return USAGE;
  if (argv.length === 1 && first === '--version') return `syncmux ${packageVersion()}\n`;
  const entry = COMMANDS.find((c) => c[0] === first);
  if (entry && argv.length === 2 && (second === '--help' || second === '-h')) {
    return `usage: syncmux ${entry[0]} -C <imapd.conf> [-n <channel>] [-v] ${entry[1]}\n${commandLine(entry)}See syncmux(8).\n`;
  }
  return null;
}

async function main(argv: string[]): Promise<number> {
  // First, so that a SIGTERM while starting up is a clean stop, not a kill.
  const signal = stopSignal();
  const info = infoRequest(argv);
  if (info) {
    process.stdout.write(info);
    return EXIT.OK;
  }
  useCyrusUmask();
  const [command, ...rest] = argv;
  const handler = command ? commands[command] : undefined;
  if (!handler) {
    process.stderr.write(USAGE);
    return EXIT.USAGE;
  }
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: rest,
      options: {
        config: { type: 'string', short: 'C' },
        channel: { type: 'string', short: 'n' },
        shards: { type: 'string' },
        once: { type: 'boolean' },
        user: { type: 'string', short: 'u' },
        timeout: { type: 'string' },
        all: { type: 'boolean' },
        json: { type: 'boolean' },
        repair: { type: 'boolean' },
        verbose: { type: 'boolean', short: 'v' },
      },
      strict: true,
    }));
  } catch (err) {
    process.stderr.write(`syncmux ${command}: ${(err as Error).message}\n${USAGE}`);
    return EXIT.USAGE;
  }
  // `run` loads its shard workers' code first: a clone under /root is not readable by cyrus.
  if (!LOADS_WORKERS.has(command!)) becomeCyrus();
  const configFile = (values.config as string | undefined) ?? '/etc/imapd.conf';
  const config = loadConfig(configFile, { ident: 'syncmux', cyrusPrefix: process.env.CYRUS_PREFIX });
  const channel = (values.channel as string | undefined) ?? null;
  const ctx: CommandContext = {
    config,
    configFile,
    channel,
    channelDir: channelDirOf(config, channel),
    values,
    signal,
    becomeCyrus,
    log: openLogger('syncmux', config, { verbose: values.verbose ? 1 : 0, verboseLogging: false }),
  };
  return handler(ctx);
}

main(process.argv.slice(2)).then(
  (code) => exitWhenDrained(code),
  (err: unknown) => {
    process.stderr.write(`syncmux: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(err instanceof PrivilegeError ? EXIT.USAGE : EXIT.SOFTWARE);
  },
);
