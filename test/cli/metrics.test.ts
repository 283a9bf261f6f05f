import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { prometheusText } from '../../src/cli/metrics.js';
import type { DaemonStatus } from '../../src/cli/run-daemon.js';
import { newShardStats } from '../../src/shard/index.js';
import { newSplitStats } from '../../src/synclog/stats.js';

const now = 1_800_000_000_000;

function status(): DaemonStatus {
  const shardStats = [newShardStats(), newShardStats()];
  Object.assign(shardStats[0]!, { usersOk: 9, usersFailed: 2, handoffs: 1, uploadsConfirmedUntilMs: now + 60_000 });
  Object.assign(shardStats[1]!, { usersOk: 4, uploadsConfirmedUntilMs: now - 1 });
  return { pid: 1, startedMs: now - 5000, updatedMs: now - 1000, channel: 'replica', shards: 2, splitter: newSplitStats(2), shardStats, restarts: [0, 1] };
}

test('per-shard counters and gauges, with channel and shard labels', () => {
  const text = prometheusText(status(), now);
  assert.match(text, '# TYPE syncmux_handoffs_total counter\n');
  assert.match(text, 'syncmux_handoffs_total{channel="replica",shard="0"} 1\n');
  assert.match(text, 'syncmux_handoffs_total{channel="replica",shard="1"} 0\n');
  assert.match(text, 'syncmux_uploads_confirmed{channel="replica",shard="0"} 1\n');
  assert.match(text, 'syncmux_uploads_confirmed{channel="replica",shard="1"} 0\n', 'a suspension that has run out counts as off');
  assert.match(text, 'syncmux_users_failed_total{channel="replica",shard="0"} 2\n');
  assert.match(text, 'syncmux_worker_restarts_total{channel="replica",shard="1"} 1\n');
  assert.match(text, 'syncmux_status_age_seconds{channel="replica"} 1\n');
  for (const line of text.trim().split('\n')) assert.match(line, /^(# (HELP|TYPE) syncmux_\w+ .+|syncmux_\w+\{[^}]*\} -?[\d.e+-]+)$/, line);
});

test.run();
