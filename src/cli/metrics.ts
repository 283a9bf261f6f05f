/**
 * The daemon status as Prometheus text exposition, for `syncmux metrics`
 * (and a node_exporter textfile collector). Pure.
 */
import { mainLagMs, retryLagMs } from '../shard/index.js';
import type { DaemonStatus } from './run-daemon.js';

export function prometheusText(s: DaemonStatus, now = Date.now()): string {
  const lines: string[] = [];
  const metric = (name: string, help: string, type: 'counter' | 'gauge', rows: Array<[Record<string, string>, number]>) => {
    lines.push(`# HELP syncmux_${name} ${help}`, `# TYPE syncmux_${name} ${type}`);
    for (const [labels, value] of rows) {
      const l = Object.entries({ channel: s.channel ?? '', ...labels }).map(([k, v]) => `${k}="${v.replace(/["\\\n]/g, '_')}"`).join(',');
      lines.push(`syncmux_${name}{${l}} ${value}`);
    }
  };
  const perShard = (f: (i: number) => number) => s.shardStats.map((_, i): [Record<string, string>, number] => [{ shard: String(i) }, f(i)]);
  metric('split_lines_total', 'Sync-log lines read by the splitter.', 'counter', [[{}, s.splitter.linesIn]]);
  metric('quarantined_lines_total', 'Malformed sync-log lines set aside.', 'counter', [[{}, s.splitter.quarantined]]);
  metric('lines_done_total', 'Lines the replica confirmed.', 'counter', perShard((i) => s.shardStats[i]!.linesDone));
  metric('users_failed_total', 'User batches that failed.', 'counter', perShard((i) => s.shardStats[i]!.usersFailed));
  metric('handoffs_total', "User batches handed to Cyrus's own sync_client (copyback, sieve migration).", 'counter', perShard((i) => s.shardStats[i]!.handoffs));
  metric('uploads_confirmed', 'Whether uploads wait for their answer before APPLY MAILBOX, after the replica refused one (1) or go in one flight (0).', 'gauge',
    perShard((i) => (s.shardStats[i]!.uploadsConfirmedUntilMs > now ? 1 : 0)));
  metric('retry_lines', 'Lines waiting in the retry journal.', 'gauge', perShard((i) => s.shardStats[i]!.retryLines));
  metric('retry_users', 'Users with lines in the retry journal.', 'gauge', perShard((i) => s.shardStats[i]!.retryUsers));
  metric('in_flight', 'Batches being replicated.', 'gauge', perShard((i) => s.shardStats[i]!.inFlight));
  metric('lag_seconds', 'Age of the oldest line not yet on the replica.', 'gauge',
    perShard((i) => Math.max(mainLagMs(s.shardStats[i]!, now), retryLagMs(s.shardStats[i]!, now)) / 1000));
  metric('shard_failing', 'Whether the shard worker failed and has not run since (its error is in syncmux status).', 'gauge', perShard((i) => (s.shardErrors?.[i] ? 1 : 0)));
  metric('worker_restarts_total', 'Shard worker restarts.', 'counter', perShard((i) => s.restarts[i] ?? 0));
  if (s.verify) {
    metric('verify_checked_total', 'Users (and the shared mailboxes) the background audit compared with the replica.', 'counter', [[{}, s.verify.checkedTotal]]);
    metric('verify_cycles_total', 'Complete passes of the background audit.', 'counter', [[{}, s.verify.cycles]]);
    metric('verify_diverging_users', 'Users whose replica differs from the master at their last audit.', 'gauge', [[{}, s.verify.divergingCount]]);
    metric('verify_resyncs_total', 'Full resyncs the background audit requested (syncmux_verify_repair).', 'counter', [[{}, s.verify.resyncsRequested]]);
    metric('verify_failing', 'Whether the background audit cannot reach the replica or read the master (its error is in syncmux status).', 'gauge', [[{}, s.verify.lastError ? 1 : 0]]);
  }
  metric('status_age_seconds', 'Seconds since the daemon last wrote its status.', 'gauge', [[{}, (now - s.updatedMs) / 1000]]);
  return `${lines.join('\n')}\n`;
}
