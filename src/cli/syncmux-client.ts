#!/usr/bin/env node
/**
 * syncmux-client: a drop-in for Cyrus 3.6.1's sync_client. Same argv, config
 * keys, exit codes (0 done or shutdown file, 1 failure, 64 usage, 70 no
 * sync_host, 75 SIGTERM/SIGINT/SIGQUIT), stderr and syslog conventions
 * (ident `<syslog_prefix>/sync_client`). Becomes the cyrus user when run as
 * root, as Cyrus tools do.
 */
import './runtime.js';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { channelSetting, loadConfig, syncChannel, type CyrusConfig } from '../cyrus/index.js';
import { copybackClient, Engine, connectionCount, DEFAULT_TOTAL_CONNECTIONS, EnginePool, type ReplicatorContext } from '../engine/index.js';
import { EndpointError } from '../protocol/index.js';
import { exitCodeOf, EXIT } from './exit-codes.js';
import { parseClientOptions, usageError, type ClientOptions } from './client-options.js';
import { clientInfoRequest } from './client-help.js';
import { runObjects, runRolling } from './client-modes.js';
import { openLogger, type Logger } from './logger.js';
import { becomeCyrus, PrivilegeError, useCyrusUmask } from './privileges.js';
import { afterStopGrace, sleepUnlessStopped, stopGraceMs } from './stopping.js';
import { connectOnceHonoured, cyrusReleaseOf } from './cyrus-release.js';
import { exitWhenDrained } from './exit.js';

const PROGRAM = 'sync_client';

async function main(argv: string[]): Promise<number> {
  const info = clientInfoRequest(argv);
  if (info) {
    process.stdout.write(info);
    return EXIT.OK;
  }
  // First, so that a stop while starting up is a clean exit 75, not a kill.
  const stop = new AbortController();
  for (const sig of ['SIGTERM', 'SIGINT', 'SIGQUIT'] as const) process.on(sig, () => stop.abort(new Error(sig)));
  useCyrusUmask();
  const parsed = parseClientOptions(argv);
  const programName = path.basename(process.argv[1] ?? 'syncmux-client').replace(/\.[jt]s$/, '');
  if (!parsed.ok) {
    process.stderr.write(usageError(parsed, programName));
    return EXIT.USAGE;
  }
  const o = parsed.options;
  if (o.mode === 'rolling' && o.background && !process.env.CYRUS_ISDAEMON) return forkToBackground(argv);
  becomeCyrus();
  let config: CyrusConfig;
  try {
    config = loadConfig(o.configFile ?? '/etc/imapd.conf', { ident: PROGRAM, cyrusPrefix: process.env.CYRUS_PREFIX });
  } catch (err) {
    process.stderr.write(`Fatal error: ${(err as Error).message}\n`);
    return EXIT.CONFIG;
  }
  const log = openLogger(PROGRAM, config, { verbose: o.verbose, verboseLogging: o.verboseLogging });
  if (o.startDelay > 0) await sleepUnlessStopped(o.startDelay * 1000, stop.signal);
  if (stop.signal.aborted) return EXIT.TEMPFAIL;

  // Under cyrmaster (a cyrus.conf DAEMON entry) SIGHUP means "reread the config": as stock, stop
  // gracefully and exit 0, and cyrmaster starts us again with the new config.
  let hangUp = false;
  if (process.env.CYRUS_ISDAEMON) process.on('SIGHUP', () => ((hangUp = true), stop.abort(new Error('SIGHUP'))));

  // -o: 3.6.1 parsed it and kept retrying (Cassandane 3.6.1 relies on that); 3.9 made it "connect once".
  const connectOnce = o.connectOnce && connectOnceHonoured(cyrusReleaseOf(copybackClient(config, o.channel ?? null)));
  let engine: Engine;
  let context: ReplicatorContext;
  let connected = false;
  try {
    context = {
      shard: o.shard ?? 0, shards: 1, configFile: config.file, channel: o.channel ?? null,
      log: (p, m) => log.log(p, m),
      engine: {
        serverOverride: o.serverOverride, partition: o.partition, noCopyback: o.noCopyback, nonBlocking: o.nonBlocking,
        requireCompression: o.requireCompression,
        // Once rolling has connected, stock does not wait out a lost replica: it exits 0 (runRolling).
        // -o (3.9+): never wait out a replica that is down.
        connectOnce: () => connectOnce || (o.mode === 'rolling' && connected),
        stageToArchive: o.stageToArchive,
        // Object modes (-u, -m, -A, -s) gain nothing from the one-flight upload: keep stock's order there.
        confirmUploads: o.mode !== 'rolling',
        trace: o.verbose >= 2 ? (d, line) => process.stderr.write(`${d === '>' ? '>' : '<'}${Math.floor(Date.now() / 1000)}${d === '>' ? '>' : '<'}${line}\n`) : undefined,
        onConnectWait: (message) => process.stderr.write(`${message}\n`),
        ...(process.env.SYNCMUX_TRACE_DIR ? { traceDir: process.env.SYNCMUX_TRACE_DIR } : {}),
        ...(process.env.CYRUS_PREFIX ? { cyrusPrefix: process.env.CYRUS_PREFIX } : {}),
      },
    };
    engine = new Engine(context);
  } catch (err) {
    if (err instanceof EndpointError) {
      process.stderr.write(`Fatal error: ${err.message}\n`);
      return exitCodeOf(err);
    }
    throw err;
  }
  // A signal also ends connect waits and in-flight work; unfinished lines are re-queued, never lost.
  const connections = clientConnections(config, o.channel ?? null);
  const pool = EnginePool.around(engine, context, connections);
  pool.warmUp(); // run() waits for the first connection, for stock's connect errors
  const closeAll = () => pool.close();
  stop.signal.addEventListener('abort', () => void closeAll(), { once: true });
  try {
    const work = run(o, config, engine, pool, connections, log, stop.signal, () => (connected = true));
    const done = await Promise.race([work, afterStopGrace(stop.signal, stopGraceMs(config.syncTimeout), EXIT.TEMPFAIL)]);
    // A stop ends lock and connect waits, failing what was waiting: that is the stop's exit (75), as stock's.
    const code = stop.signal.aborted && done === EXIT.FAIL ? EXIT.TEMPFAIL : done;
    return hangUp && code === EXIT.TEMPFAIL ? EXIT.OK : code;
  } finally {
    await closeAll();
  }
}


/**
 * syncmux_client_connections (default 8): replica connections every mode
 * spreads users over (stock has one).
 */
function clientConnections(config: CyrusConfig, channel: string | null): number {
  return connectionCount(channelSetting(config, channel, 'syncmux_client_connections'), DEFAULT_TOTAL_CONNECTIONS);
}

async function run(o: ClientOptions, config: CyrusConfig, engine: Engine, pool: EnginePool, connections: number, log: Logger, signal: AbortSignal, onConnected: () => void): Promise<number> {
  try {
    await Promise.race([engine.connect(), aborted(signal)]);
  } catch (err) {
    if (signal.aborted) return EXIT.TEMPFAIL;
    // Stock's replica_connect: the bare line on stderr, the cause in syslog.
    process.stderr.write(`Can not connect to server '${engine.endpoint.serverName}'\n`);
    log.log('err', `Can not connect to server '${engine.endpoint.serverName}': ${(err as Error).message}`);
    return EXIT.FAIL;
  }
  onConnected();
  if (o.mode !== 'rolling') return runObjects(o, engine, pool, log, connections);
  const channel = syncChannel(config, o.channel ?? null);
  const logFile = o.shard === undefined ? channel.logFile : `${channel.logFile}.${o.shard}`;
  return runRolling(o, engine, pool, log, {
    logFile,
    shutdownFile: o.shutdownFile ?? channel.shutdownFile,
    repeatSeconds: o.minDelta || channel.repeatInterval,
    coalesceMs: channel.coalesceMs,
    signal,
  });
}

function aborted(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => {
    if (signal.aborted) reject(signal.reason);
    signal.addEventListener('abort', () => reject(signal.reason), { once: true });
  });
}

/** -r: like stock, the parent returns 0 at once and the child rolls on. */
function forkToBackground(argv: string[]): number {
  const child = spawn(process.execPath, [...process.execArgv, process.argv[1]!, ...argv], {
    detached: true,
    stdio: 'ignore',
    env: { ...process.env, CYRUS_ISDAEMON: '1' },
  });
  child.unref();
  return EXIT.OK;
}

main(process.argv.slice(2)).then(
  (code) => exitWhenDrained(code),
  (err: unknown) => {
    process.stderr.write(`Fatal error: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(err instanceof PrivilegeError ? EXIT.USAGE : EXIT.SOFTWARE);
  },
);
