// The Cyrus version matrix of `npm test` (test/run-tests.mjs): after the
// whole suite has run on the default builds (Debian's 3.6.1 on both sides,
// unless SYNCMUX_CYRUS* say otherwise), the real-Cyrus replication flows
// below run again once per enabled master -> replica pair, with
// SYNCMUX_CYRUS_MASTER / SYNCMUX_CYRUS_REPLICA set (lab/cyrus-installs.ts).
// SYNCMUX_CYRUS_MATRIX=off skips the re-runs (e.g. while iterating on one file).

/** Master -> replica pairs; flip `enabled` to add or drop one. */
export const CYRUS_PAIRS = [
  // Debian 13's and bookworm-backports' Cyrus on both sides.
  { master: '3.10', replica: '3.10', enabled: true },
  // The upgrade path: a 3.6 master replicating to a 3.10 replica.
  { master: '3.6', replica: '3.10', enabled: true },
];

/**
 * The suites that drive replication end to end against real Cyrus (about
 * 100 s per pair on a 2-vCPU VM): the engine's flows, both CLIs, crash
 * recovery, and the splitter on a real master's log.
 */
export const FLOW_SUITES = [
  'test/engine/flows.test.ts',
  'test/engine/fast-path.test.ts',
  'test/engine/imap-transport.test.ts',
  'test/engine/conversations.test.ts',
  'test/engine/sieve.test.ts',
  'test/synclog/real-master.test.ts',
  'test/cli/syncmux-client-modes.test.ts',
  'test/cli/syncmux-run.test.ts',
  'test/cli/syncmux-random.test.ts',
  'test/cli/syncmux-kill9.test.ts',
  'test/cli/syncmux-verify.test.ts',
];
