/**
 * The `syncmux` subcommands. Each gets the parsed config and channel and
 * returns an exit code; long-running ones stop cleanly on SIGTERM/SIGINT
 * and on the channel's sync_shutdown_file.
 */
import fs from 'node:fs';
import path from 'node:path';
import { syncChannel, type CyrusConfig } from '../cyrus/index.js';
import { runSplitter, splitOnce, type SplitStats } from '../synclog/index.js';
import { RESYNC_PREFIX, SKIP_PREFIX, handBack, HandbackError } from '../shard/index.js';
import type { Logger } from './logger.js';
import { prometheusText } from './metrics.js';
import { readStatus, runDaemon, statusLagMs, storageTrouble, watchFailed } from './run-daemon.js';
import { verifyCommand } from './verify-command.js';
import { waitCommand } from './wait-client.js';
import { EXIT } from './exit-codes.js';

export interface CommandContext {
  config: CyrusConfig;
  configFile: string;
  channel: string | null;
  channelDir: string;
  values: Record<string, string | boolean | undefined>;
  /** Aborted by SIGTERM/SIGINT, from the start of the process. */
  signal: AbortSignal;
  /** Drop root for the cyrus user (a no-op when not root); commands in LOADS_WORKERS call it themselves. */
  becomeCyrus: () => void;
  log: Logger;
}

/** Commands that load worker threads' code before they give up root. */
export const LOADS_WORKERS: ReadonlySet<string> = new Set(['run']);

export type Command = (ctx: CommandContext) => Promise<number>;

export function channelDirOf(config: CyrusConfig, channel: string | null): string {
  return channel ? path.join(config.configDirectory, 'sync', channel) : path.join(config.configDirectory, 'sync');
}

export function shardsOf(ctx: CommandContext): number {
  const n = Number(ctx.values.shards ?? 1);
  if (!Number.isInteger(n) || n < 1 || n > 1024) throw new Error(`--shards must be an integer from 1 to 1024, got ${ctx.values.shards}`);
  return n;
}

export function stopSignal(): AbortSignal {
  const controller = new AbortController();
  for (const sig of ['SIGTERM', 'SIGINT'] as const) process.once(sig, () => controller.abort(new Error(sig)));
  // cyrmaster passes its SIGHUP (reread cyrus.conf) on to DAEMON entries: a clean stop, and it restarts us.
  if (process.env.CYRUS_ISDAEMON) process.once('SIGHUP', () => controller.abort(new Error('SIGHUP')));
  return controller.signal;
}

function describe(stats: SplitStats): string {
  return `${stats.linesIn} line(s) in, per shard [${stats.linesPerShard.join(' ')}], ${stats.quarantined} quarantined, ${stats.batches} batch(es)`;
}

const split: Command = async (ctx) => {
  fs.mkdirSync(ctx.channelDir, { recursive: true });
  const options = {
    channelDir: ctx.channelDir,
    shards: shardsOf(ctx),
    route: { deletedPrefix: ctx.config.deletedPrefix, defaultDomain: ctx.config.defaultDomain },
    shutdownFile: syncChannel(ctx.config, ctx.channel).shutdownFile ?? undefined,
    signal: ctx.signal,
    onWatchFailed: watchFailed(ctx),
    onStorageError: storageTrouble(ctx),
  };
  const stats = ctx.values.once ? await splitOnce(options) : await runSplitter(options);
  ctx.log.log('info', `split: ${describe(stats)}`);
  process.stdout.write(`${describe(stats)}\n`);
  return EXIT.OK;
};

/** `syncmux handback`: after `run` stopped, every line it holds goes into log-run for a log reader. */
const handbackCommand: Command = async (ctx) => {
  try {
    const result = await handBack(ctx.channelDir);
    const what = result.from.length ? ` from ${result.from.join(', ')}` : '';
    ctx.log.log('notice', `handback: ${result.lines} line(s) into log-run${what}`);
    process.stdout.write(`${result.lines} line(s) into ${path.join(ctx.channelDir, 'log-run')}${what}; sync_client -r or syncmux-client -r takes it first\n`);
    return EXIT.OK;
  } catch (err) {
    if (!(err instanceof HandbackError)) throw err;
    process.stderr.write(`syncmux handback: ${err.message}\n`);
    return EXIT.FAIL;
  }
};

const run: Command = (ctx) => runDaemon(ctx, shardsOf(ctx), !!ctx.values.once, ctx.signal);

const status: Command = async (ctx) => {
  const s = readStatus(ctx.channelDir);
  if (!s) {
    process.stderr.write(`no status in ${ctx.channelDir} (is syncmux run running?)\n`);
    return EXIT.FAIL;
  }
  const age = Date.now() - s.updatedMs;
  const alive = isAlive(s.pid) && age < 10_000;
  process.stdout.write(`syncmux ${alive ? 'running' : 'NOT running'} (pid ${s.pid}), channel ${s.channel ?? '(default)'}, ${s.shards} shard(s), lag ${statusLagMs(s)} ms\n`);
  process.stdout.write(`splitter: ${describe(s.splitter)}\n`);
  process.stdout.write('shard  lines-done  users-ok  users-failed  retry-users  retry-lines  in-flight  restarts\n');
  s.shardStats.forEach((st, i) => {
    process.stdout.write(`${String(i).padStart(5)}  ${String(st.linesDone).padStart(10)}  ${String(st.usersOk).padStart(8)}  ${String(st.usersFailed).padStart(12)}  ${String(st.retryUsers).padStart(11)}  ${String(st.retryLines).padStart(11)}  ${String(st.inFlight).padStart(9)}  ${String(s.restarts[i] ?? 0).padStart(8)}\n`);
  });
  s.shardErrors?.forEach((error, i) => {
    if (error) process.stdout.write(`shard ${i} FAILING: ${error}\n`);
  });
  if (s.verify) {
    const v = s.verify;
    process.stdout.write(`verify: cycle ${v.cycles + 1}, ${v.checkedInCycle} of ${v.subjectsInCycle} checked, ${v.divergingCount} diverging user(s)${v.lastError ? `, FAILING: ${v.lastError}` : ''}\n`);
    for (const d of v.diverging) process.stdout.write(`  ${d.first}${d.divergences > 1 ? ` (+${d.divergences - 1} more)` : ''}\n`);
  }
  const skipped = fs.readdirSync(ctx.channelDir).filter((f) => f.startsWith(SKIP_PREFIX)).map((f) => f.slice(SKIP_PREFIX.length));
  if (skipped.length) process.stdout.write(`skipped users: ${skipped.join(' ')}\n`);
  return alive ? EXIT.OK : EXIT.DAEMON_STALE;
};

const metrics: Command = async (ctx) => {
  const s = readStatus(ctx.channelDir);
  if (!s) return EXIT.FAIL;
  process.stdout.write(prometheusText(s));
  return EXIT.OK;
};

function touchCommand(prefix: string, remove: boolean): Command {
  return async (ctx) => {
    const user = ctx.values.user;
    if (typeof user !== 'string' || !user || user.includes('/')) {
      process.stderr.write('--user <userid> is required\n');
      return EXIT.USAGE;
    }
    const file = path.join(ctx.channelDir, `${prefix}${user}`);
    if (remove) fs.rmSync(file, { force: true });
    else fs.writeFileSync(file, '');
    ctx.log.log('notice', `${remove ? 'removed' : 'created'} ${file}`);
    return EXIT.OK;
  };
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export const commands: Record<string, Command> = {
  split,
  run,
  status,
  metrics,
  skip: touchCommand(SKIP_PREFIX, false),
  unskip: touchCommand(SKIP_PREFIX, true),
  resync: touchCommand(RESYNC_PREFIX, false),
  wait: waitCommand,
  verify: verifyCommand,
  handback: handbackCommand,
};
