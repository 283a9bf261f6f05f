/**
 * A shard worker thread: loads the replicator factory named by
 * workerData.replicatorModule and says `loaded`; on `start` it creates the
 * replicator, says `ready` and runs the shard runner for its shard. Loading
 * is split from starting so that a daemon started as root can load every
 * worker's code before it becomes the cyrus user (a clone under /root is
 * not readable by cyrus), while nothing touches Cyrus's files until then. On `shutdown` it cancels pending lock waits, stops
 * taking work, gives in-flight batches up to the grace period, closes the
 * replicator and exits 0. Anything fatal is reported and ends the thread
 * with exit code 1; the pool restarts it and the runner replays from disk.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { Replicator, ReplicatorFactory } from '../engine/index.js';
import { cancelPending } from '../native/index.js';
import type { LogFn } from './log.js';
import type { FromWorker, ToWorker, WorkerConfig } from './protocol.js';
import { ShardRunner } from './shard-runner.js';
import { StatsBuffer } from './stats-buffer.js';
import { StatsPace } from './stats-pace.js';
import { STATS_FIELDS } from './stats.js';

/** How often an idle worker (its stats row unchanged for a few publishes) still publishes it. */
const IDLE_STATS_INTERVAL_MS = 10_000;
/** Fields that move with every publish or every empty poll, not with work (a pass's end publishes them anyway). */
const MOVES_WHEN_IDLE = new Set<string>(['updatedMs', 'caughtUpMs']);

const config = workerData as WorkerConfig;
const port = parentPort!;
const post = (message: FromWorker): void => port.postMessage(message);
const log: LogFn = (priority, message) => post({ t: 'log', priority, message });
const statsBuffer = new StatsBuffer(config.statsBuffer, config.shards);
const stop = new AbortController();
let runner: ShardRunner | null = null;
let graceMs = 0;
let startWork: () => void = () => {};
let stopConnecting: () => void = () => {};
const started = new Promise<void>((resolve) => (startWork = resolve));

port.on('message', (message: ToWorker) => {
  if (message.t === 'start') startWork();
  else if (message.t === 'wake') runner?.wake(message.control === true);
  else if (message.t === 'stats') {
    if (runner) post({ t: 'stats', stats: { ...runner.snapshot() }, final: false });
  } else if (message.t === 'shutdown') {
    graceMs = message.graceMs;
    stop.abort();
    cancelPending(); // lock waits (hand-off, barriers' peers) end now, not at their timeout
    stopConnecting(); // and so do waits for an unreachable replica
    startWork();
  }
});

main().then(
  () => {
    port.unref();
    // Should a replicator leave a handle open, do not hang: the pool would only terminate us later.
    setTimeout(() => process.exit(0), 1000).unref();
  },
  (error: unknown) => {
    const failure = error instanceof Error ? error : new Error(String(error));
    post({ t: 'fatal', message: failure.message, stack: failure.stack });
    process.exit(1);
  },
);

async function main(): Promise<void> {
  const module = (await import(config.replicatorModule)) as { createReplicator?: ReplicatorFactory };
  if (typeof module.createReplicator !== 'function') throw new Error(`${config.replicatorModule} does not export createReplicator`);
  post({ t: 'loaded' });
  await started;
  if (stop.signal.aborted) return;
  const replicator = await module.createReplicator({
    shard: config.shard,
    shards: config.shards,
    configFile: config.configFile,
    channel: config.channel,
    ...(config.engine ? { engine: config.engine } : {}),
    log,
  });
  let closing: Promise<void> | null = null;
  const closeReplicator = (): Promise<void> =>
    (closing ??= replicator.close().catch((error: unknown) => log('warning', `closing the replicator: ${String(error)}`)));
  stopConnecting = () => replicator.stopConnecting?.();
  if (stop.signal.aborted) stopConnecting();
  try {
    replicator.warmUp?.();
    post({ t: 'ready' });
    if (stop.signal.aborted) return;
    await runShardWorker(replicator, closeReplicator);
  } finally {
    await closeReplicator();
  }
}

async function runShardWorker(replicator: Replicator, closeReplicator: () => Promise<void>): Promise<void> {
  let onPassEnd = (): void => {};
  const shardRunner = await ShardRunner.open({
    ...config.settings,
    channelDir: config.channelDir,
    shard: config.shard,
    shards: config.shards,
    replicator,
    signal: stop.signal,
    onPassEnd: () => onPassEnd(),
    log,
  });
  runner = shardRunner;
  const publish = (): string => {
    const stats = shardRunner.snapshot();
    statsBuffer.write(config.shard, stats);
    return STATS_FIELDS.map((field) => (MOVES_WHEN_IDLE.has(field) ? 0 : stats[field])).join(' ');
  };
  // Retries finish between passes too, so the row is also published on a timer: every
  // statsIntervalMs while it changes, every IDLE_STATS_INTERVAL_MS once it has not.
  const pace = new StatsPace(config.statsIntervalMs, IDLE_STATS_INTERVAL_MS);
  let timer: NodeJS.Timeout | undefined;
  const tick = (): void => {
    timer = setTimeout(tick, pace.next(publish()));
  };
  onPassEnd = () => {
    if (!pace.observe(publish())) return;
    clearTimeout(timer);
    timer = setTimeout(tick, config.statsIntervalMs);
  };
  timer = setTimeout(tick, config.statsIntervalMs);
  try {
    const work = config.mode === 'once' ? shardRunner.runOnce() : shardRunner.run();
    work.catch(() => {}); // observed below; this only keeps an early rejection from counting as unhandled
    if ((await Promise.race([work.then(() => 'done' as const), graceExpired()])) === 'grace') {
      log('warning', `batches still in flight after ${graceMs} ms; closing the replicator`);
      await closeReplicator();
    }
    await work;
  } finally {
    clearTimeout(timer);
    publish();
    post({ t: 'stats', stats: { ...shardRunner.snapshot() }, final: true });
    await shardRunner.close();
  }
}

/** Resolves `grace` graceMs after a shutdown request; never before one. */
function graceExpired(): Promise<'grace'> {
  return new Promise((resolve) => {
    const arm = (): void => void setTimeout(() => resolve('grace'), graceMs).unref();
    if (stop.signal.aborted) arm();
    else stop.signal.addEventListener('abort', arm, { once: true });
  });
}
