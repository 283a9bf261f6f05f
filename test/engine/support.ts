/**
 * Engine test helpers: drain a lab channel's log through the engine the way
 * a rolling client would (hand-off, replicate, unlink), and collect logs.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { CyrusLab } from '../../lab/cyrus-lab.js';
import { Engine } from '../../src/engine/engine.js';
import { replicateFile, type PassResult } from '../../src/engine/log-pass.js';
import { handOffLogSync } from '../../src/native/index.js';

export interface EngineUnderTest {
  engine: Engine;
  logs: string[];
  drain(): Promise<PassResult>;
}

export function engineFor(lab: CyrusLab, over: Partial<ConstructorParameters<typeof Engine>[0]> = {}): EngineUnderTest {
  const logs: string[] = [];
  const engine = new Engine({
    shard: 0, shards: 1, configFile: lab.master.paths.imapdConf, channel: lab.channel,
    log: (p, m) => logs.push(`${p}: ${m}`), ...over,
  });
  const dir = lab.syncLogDir();
  return {
    engine,
    logs,
    async drain() {
      const log = path.join(dir, 'log');
      const run = path.join(dir, 'log-run');
      const total: PassResult = { lines: 0, malformed: [], failed: [], unconfirmed: [] };
      // Replicating can log more lines (e.g. a rename's MAILBOX lines): loop until quiet.
      for (let i = 0; i < 5; i++) {
        if (!fs.existsSync(run) && handOffLogSync(log, run, 10_000) === 'empty') break;
        const r = await replicateFile(run, engine, { deletedPrefix: engine.config.deletedPrefix });
        total.lines += r.lines;
        total.malformed.push(...r.malformed);
        total.failed.push(...r.failed);
        total.unconfirmed.push(...r.unconfirmed);
        if (r.failed.length) break;
        fs.rmSync(run);
      }
      return total;
    },
  };
}
