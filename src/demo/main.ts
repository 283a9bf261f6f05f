/**
 * `npm run demo` / `./dev demo`. The demo replicates a throwaway master to a
 * throwaway replica with syncmux; it needs the replication engine, which has
 * not landed yet. Until then it says so and exits non-zero rather than
 * pretending.
 */
console.error('syncmux demo: not available yet. It needs the replication engine (shard workers + DLIST client),');
console.error('which is still being built. Meanwhile `./dev test` runs the real-Cyrus harness and every test.');
process.exit(2);
