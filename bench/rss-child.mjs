// Child process of bench/split.bench.ts: the peak RSS of a backlog pass as
// the shipped CLIs run it, plain node on the built dist/ (a tsx child carries
// some 40 MB of its own). Prints one JSON line.
//   rss-child.mjs split <channelDir> <shards>   the daemon's splitter
//   rss-child.mjs group <log-run>               the drop-in's pass, to a replicator that confirms at once
const dist = new URL('../dist/', import.meta.url);
const [mode, target, shards] = process.argv.slice(2);
const started = performance.now();
const seconds = () => (performance.now() - started) / 1000;
if (mode === 'split') {
  const { splitOnce } = await import(new URL('synclog/splitter.js', dist).href);
  const stats = await splitOnce({ channelDir: target, shards: Number(shards) });
  console.log(JSON.stringify({ maxRssKiB: process.resourceUsage().maxRSS, lines: stats.linesIn, seconds: seconds() }));
} else if (mode === 'group') {
  const { groupFile } = await import(new URL('engine/log-groups.js', dist).href);
  const { replicateGroups } = await import(new URL('engine/log-pass.js', dist).href);
  const grouped = await groupFile(target, {});
  const kept = grouped.groups.reduce((n, g) => n + g.lines.length, 0);
  const groupedRssKiB = process.resourceUsage().maxRSS;
  const confirmAtOnce = { replicate: () => new Promise((resolve) => setImmediate(() => resolve({ ok: true }))), close: async () => {} };
  const result = await replicateGroups(grouped, confirmAtOnce);
  if (result.failed.length) throw new Error('a batch failed');
  console.log(JSON.stringify({ maxRssKiB: process.resourceUsage().maxRSS, groupedRssKiB, lines: grouped.count, kept, groups: grouped.groups.length, seconds: seconds() }));
} else {
  throw new Error(`unknown mode ${mode}`);
}
