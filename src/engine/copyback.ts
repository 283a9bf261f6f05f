/**
 * Work stock sync_client does by writing the master's store, syncmux hands
 * to Cyrus's own installed sync_client (`sync_client -u <user>`), after
 * releasing its own sync lock, because syncmux never writes that store:
 *   - copyback, where the replica disagrees after a fresh retry (split
 *     brain, a replica ahead of the master);
 *   - the migration of a user's sieve directory into the `#sieve` mailbox,
 *     which stock forces at the start of every user sync.
 * When the handoff is disabled, the user is parked as failed with a clear
 * message instead.
 *
 *   syncmux_copyback_client: /usr/lib/cyrus/bin/sync_client   (default)
 *   syncmux_copyback_client: off                               (park instead)
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { channelSetting, type CyrusConfig } from '../cyrus/index.js';
import { SyncmuxError } from '../errors.js';

/** This user needs Cyrus's own sync_client: the message says why. */
export class NeedsCyrusClientError extends SyncmuxError {
  constructor(message: string, options?: ErrorOptions) {
    super('SYNCMUX_NEEDS_CYRUS_CLIENT', message, options);
  }
}

export const DEFAULT_COPYBACK_CLIENT = '/usr/lib/cyrus/bin/sync_client';

export function copybackClient(config: CyrusConfig, channel: string | null): string | null {
  const value = channelSetting(config, channel, 'syncmux_copyback_client') ?? DEFAULT_COPYBACK_CLIENT;
  if (/^(off|no|none|0|false)$/i.test(value.trim())) return null;
  return fs.existsSync(value) ? value : null;
}

export interface CopybackResult {
  ok: boolean;
  detail: string;
}

/** Runs `<client> -C <conf> [-n <channel>] [-S <server>] [-O] -u <userid>` and reports how it ended. */
export function runCopyback(client: string, o: { configFile: string; channel: string | null; serverOverride?: string; noCopyback?: boolean; userid: string }): Promise<CopybackResult> {
  const args = ['-C', o.configFile];
  if (o.channel) args.push('-n', o.channel);
  if (o.serverOverride) args.push('-S', o.serverOverride);
  if (o.noCopyback) args.push('-O'); // -O asked for no copyback: the hand-off must not do one either
  args.push('-u', o.userid);
  return new Promise((resolve) => {
    const child = spawn(client, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => { stderr = (stderr + c.toString()).slice(-2000); });
    child.on('error', (err) => resolve({ ok: false, detail: `${client}: ${err.message}` }));
    child.on('exit', (code, signal) => {
      resolve(code === 0
        ? { ok: true, detail: `${client} -u ${o.userid} reconciled the user` }
        : { ok: false, detail: `${client} -u ${o.userid} exited ${code ?? signal}: ${stderr.trim().split('\n').pop() ?? ''}` });
    });
  });
}
