/**
 * When a failed user is tried again: capped exponential backoff. Failures a
 * replicator calls not retryable still get retried (nothing is ever
 * dropped), but only at the cap, so a poisoned user costs one attempt per
 * cap interval.
 */
export interface BackoffOptions {
  /** Wait after the first failure. Default 1 s. */
  readonly initialMs?: number;
  /** Longest wait. Default 5 min. */
  readonly maxMs?: number;
  /** Growth per failure. Default 2. */
  readonly factor?: number;
}

export class Backoff {
  readonly initialMs: number;
  readonly maxMs: number;
  readonly factor: number;

  constructor(options: BackoffOptions = {}) {
    // At least 1 ms, so a failed try is never due again at once (once mode relies on it).
    this.initialMs = Math.max(1, options.initialMs ?? 1000);
    this.maxMs = Math.max(this.initialMs, options.maxMs ?? 300_000);
    this.factor = Math.max(1, options.factor ?? 2);
  }

  /** The wait after the attempts-th failure in a row (attempts >= 1). */
  delayMs(attempts: number, retryable = true): number {
    if (!retryable) return this.maxMs;
    const exponent = Math.min(Math.max(attempts - 1, 0), 64);
    return Math.min(this.maxMs, this.initialMs * this.factor ** exponent);
  }
}
