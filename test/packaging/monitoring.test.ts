/**
 * The shipped Prometheus alert rules and Grafana dashboard use only metrics
 * `syncmux metrics` exports, and the rules parse: `promtool check rules`
 * (Debian's prometheus package; CI installs it, elsewhere the check says
 * why it skipped).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { prometheusText } from '../../src/cli/metrics.js';
import type { DaemonStatus } from '../../src/cli/run-daemon.js';
import { newShardStats } from '../../src/shard/index.js';
import { newSplitStats } from '../../src/synclog/index.js';
import { skip } from '../support/skip.js';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', '..');
const RULES = path.join(root, 'packaging/prometheus/syncmux-alerts.yml');
const DASHBOARD = path.join(root, 'packaging/grafana/syncmux-dashboard.json');

/** Every metric name a status can produce, the background audit's included. */
function exportedMetrics(): Set<string> {
  const now = Date.now();
  const status: DaemonStatus = {
    pid: 1, startedMs: now, updatedMs: now, channel: 'replica', shards: 1, splitter: newSplitStats(1),
    shardStats: [newShardStats()], restarts: [0], shardErrors: [null],
    verify: { cycles: 0, cycleStartedMs: now, subjectsInCycle: 0, checkedInCycle: 0, checkedTotal: 0, divergingCount: 0, diverging: [], resyncsRequested: 0, lastError: null },
  };
  return new Set([...prometheusText(status).matchAll(/^(syncmux_[a-z_]+)\{/gm)].map((m) => m[1]!));
}

test('alert rules and dashboard name only exported metrics', () => {
  const exported = exportedMetrics();
  const used = (text: string) => new Set(text.match(/syncmux_[a-z_]+/g) ?? []);
  const rules = fs.readFileSync(RULES, 'utf8');
  const dashboard = JSON.parse(fs.readFileSync(DASHBOARD, 'utf8')) as { panels: Array<{ targets: Array<{ expr: string }> }> };
  const exprs = dashboard.panels.flatMap((p) => p.targets.map((t) => t.expr)).join('\n');
  for (const name of [...used(rules), ...used(exprs)]) assert.ok(exported.has(name), `${name} is not exported (have: ${[...exported].join(' ')})`);
  for (const alert of ['SyncmuxDown', 'SyncmuxReplicationLag', 'SyncmuxUsersFailing', 'SyncmuxShardFailing', 'SyncmuxReplicaDiverges']) assert.match(rules, `alert: ${alert}`);
});

test('promtool check rules accepts the alert rules', () => {
  const which = spawnSync('promtool', ['--version'], { encoding: 'utf8' });
  if (which.error) return skip('promtool check rules', 'promtool is not installed (Debian package prometheus; ./dev setup installs it)');
  const r = spawnSync('promtool', ['check', 'rules', RULES], { encoding: 'utf8' });
  assert.is(r.status, 0, r.stdout + r.stderr);
  assert.match(r.stdout, 'SUCCESS: 5 rules found');
});

test.run();
