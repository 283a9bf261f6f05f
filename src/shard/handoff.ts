/**
 * Taking a shard log over, the Cyrus reader's way (sync_log_reader_begin):
 * a leftover log-run.<i> is reprocessed first, after taking and dropping
 * its lock to wait out any writer; otherwise log.<i> is renamed to
 * log-run.<i> (handOffLog). A lock wait cut short by a stop
 * (the runner's signal) or timed out is not an error: the next pass tries again.
 */
import fs from 'node:fs';
import { handOffLogAbortable, waitOutWriters } from '../synclog/index.js';
import type { ShardFiles } from './files.js';
import type { LogFn } from './log.js';

/** True when log-run.<i> is there to be processed. */
export async function takeShardLog(files: ShardFiles, timeoutMs: number, log: LogFn, signal?: AbortSignal): Promise<boolean> {
  try {
    if (fs.existsSync(files.run)) {
      await waitOutWriters(files.run, timeoutMs, signal);
      return true;
    }
    return (await handOffLogAbortable(files.log, files.run, timeoutMs, signal)) !== 'empty';
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ECANCELED') return false;
    if (code !== 'ETIMEDOUT') throw error;
    // A rename that happened stands; the next pass reprocesses log-run.<i>.
    log('warning', `taking ${files.log} over: a writer held the lock too long; trying again`);
    return false;
  }
}
