#!/usr/bin/env node
/**
 * `syncmux`: the daemon and admin CLI. Subcommands:
 *   split  -C <imapd.conf> -n <channel> --shards N [--once]   split the channel log into shard logs
 *   run    -C <imapd.conf> -n <channel> --shards N [--once]   splitter + N shard workers in one process
 *   status | metrics | resync --user U | skip --user U | unskip --user U | wait --user U [--timeout MS]
 * Every subcommand reads imapd.conf like Cyrus and runs as the cyrus user.
 */
import './runtime.js';
import { parseArgs } from 'node:util';
import { loadConfig } from '../cyrus/config.js';
import { becomeCyrus, PrivilegeError, useCyrusUmask } from './privileges.js';
import { openLogger } from './logger.js';
import { channelDirOf, commands, stopSignal, LOADS_WORKERS, type CommandContext } from './syncmux-commands.js';

const USAGE = `usage: syncmux <command> -C <imapd.conf> [-n <channel>] [options]
commands:
  split   --shards N [--once]      split the channel log into N shard logs
  run     --shards N [--once]      splitter and N shard workers in one process
  status                           shard backlogs, retries, skipped users
  metrics                          the same in Prometheus text format
  resync  --user U                 ask for a full resync of one user
  skip    --user U                 stop replicating one user (lines are parked, not lost)
  unskip  --user U                 resume a skipped user
  wait    --user U [--timeout MS]  wait until everything logged for U so far is on the replica
`;

async function main(argv: string[]): Promise<number> {
  // First, so that a SIGTERM while starting up is a clean stop, not a kill.
  const signal = stopSignal();
  useCyrusUmask();
  const [command, ...rest] = argv;
  const handler = command ? commands[command] : undefined;
  if (!handler) {
    process.stderr.write(USAGE);
    return 64;
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
        verbose: { type: 'boolean', short: 'v' },
      },
      strict: true,
    }));
  } catch (err) {
    process.stderr.write(`syncmux ${command}: ${(err as Error).message}\n${USAGE}`);
    return 64;
  }
  // `run` loads its shard workers' code first: a clone under /root is not readable by cyrus.
  if (!LOADS_WORKERS.has(command!)) becomeCyrus();
  const configFile = (values.config as string | undefined) ?? '/etc/imapd.conf';
  const config = loadConfig(configFile, { ident: 'syncmux' });
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
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`syncmux: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(err instanceof PrivilegeError ? 64 : 70);
  },
);
