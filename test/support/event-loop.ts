/**
 * Watches this process's event loop while a test waits: the delay
 * histogram's p99, and how often a 10 ms interval timer ran. Both are
 * needed: one stretch of a blocked loop is a single late sample to the
 * histogram, but it stops the ticks.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';

export interface EventLoopWatch {
  /** Stops watching: p99 of the loop's delay in ms, and the 10 ms ticks that ran. */
  stop(): { p99Ms: number; ticks: number };
}

export function watchEventLoop(): EventLoopWatch {
  const delay = monitorEventLoopDelay({ resolution: 5 });
  delay.enable();
  let ticks = 0;
  const ticker = setInterval(() => ticks++, 10);
  return {
    stop() {
      clearInterval(ticker);
      delay.disable();
      return { p99Ms: delay.percentile(99) / 1e6, ticks };
    },
  };
}
