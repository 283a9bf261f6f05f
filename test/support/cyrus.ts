/**
 * Gate for real-Cyrus tests: returns null when the harness can run, or the
 * reason it can't, which the test must pass to skip() so it never skips
 * silently. In CI (CI=true) a missing Cyrus is a failure, not a skip.
 * Without arguments it checks the builds SYNCMUX_CYRUS* select; a test of a
 * given master/replica pair names them.
 */
import { cyrusInstall, type CyrusVersion } from '../../lab/cyrus-installs.js';
import { cyrusUnavailableReason } from '../../lab/install.js';

export function cyrusSkipReason(pair?: { master: CyrusVersion; replica: CyrusVersion }): string | null {
  const reason = cyrusUnavailableReason(pair ? [cyrusInstall(pair.master), cyrusInstall(pair.replica)] : undefined);
  if (reason && process.env.CI) throw new Error(`real-Cyrus tests cannot run in CI: ${reason}`);
  return reason;
}
