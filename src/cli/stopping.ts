/**
 * How long a stop (SIGTERM, SIGINT, SIGQUIT) lets work wind down. Stock
 * sync_client's own stop is bounded by sync_timeout (a blocked read times
 * out); we stay well inside it. Cutting work short loses nothing: its lines
 * are still in log-run (drop-in) or log-run.<i> and the retry journal
 * (daemon), which the next start reprocesses.
 */

/** Up to 10 s, and within half of sync_timeout (seconds). */
export function stopGraceMs(syncTimeoutSeconds: number): number {
  return Math.min(10_000, Math.max(1000, (syncTimeoutSeconds * 1000) / 2));
}

/** Resolves with `code` graceMs after the stop; never before one. */
export function afterStopGrace(signal: AbortSignal, graceMs: number, code: number): Promise<number> {
  return new Promise((resolve) => {
    const arm = () => void setTimeout(() => resolve(code), graceMs).unref();
    if (signal.aborted) arm();
    else signal.addEventListener('abort', arm, { once: true });
  });
}

/** A sleep that a stop ends early. */
export function sleepUnlessStopped(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => {
      clearTimeout(timer);
      resolve();
    }, { once: true });
  });
}
