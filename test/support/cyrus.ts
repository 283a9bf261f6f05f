/**
 * Gate for real-Cyrus tests: returns null when the harness can run, or the
 * reason it can't, which the test must pass to skip() so it never skips
 * silently. In CI (CI=true) a missing Cyrus is a failure, not a skip.
 */
import { cyrusUnavailableReason } from '../../src/harness/install.js';

export function cyrusSkipReason(): string | null {
  const reason = cyrusUnavailableReason();
  if (reason && process.env.CI) throw new Error(`real-Cyrus tests cannot run in CI: ${reason}`);
  return reason;
}
