/**
 * Things tests and the demo do to a lab master: create users with folders,
 * deliver mail over LMTP, run IMAP as a user or the admin, and wait until a
 * channel's sync log is drained.
 */
import fs from 'node:fs';
import path from 'node:path';
import { ImapClient, type ImapResponse } from './imap-client.js';
import { quote } from './imap-tokens.js';
import { LmtpClient, makeMessage } from './lmtp-client.js';
import { ADMIN, type CyrusLab, type Instance } from './cyrus-lab.js';

/** IMAP as `user` (admin proxy auth) or as the admin when user is null. */
export async function withImap<T>(inst: Instance, user: string | null, fn: (c: ImapClient) => Promise<T>): Promise<T> {
  const client = await ImapClient.login(inst.ports.imap, ADMIN.user, ADMIN.password, user ?? '');
  try {
    return await fn(client);
  } finally {
    await client.logout();
  }
}

/** Runs IMAP commands in order, throwing on the first NO/BAD. */
export async function imap(inst: Instance, user: string | null, ...commands: string[]): Promise<ImapResponse[]> {
  return withImap(inst, user, async (c) => {
    const out: ImapResponse[] = [];
    for (const cmd of commands) out.push(await c.command(cmd));
    return out;
  });
}

export async function createUser(lab: CyrusLab, user: string, folders = ['Drafts', 'Sent', 'Trash']): Promise<void> {
  await imap(lab.master, null, `CREATE ${quote(`user/${user}`)}`);
  if (folders.length === 0) return;
  await withImap(lab.master, user, async (c) => {
    for (const f of folders) {
      await c.command(`CREATE ${quote(f)}`);
      await c.command(`SUBSCRIBE ${quote(f)}`);
    }
  });
}

export async function deliver(lab: CyrusLab, user: string, count: number, opts: { size?: number; start?: number } = {}): Promise<void> {
  const client = await LmtpClient.connect(lab.master.ports.lmtp);
  try {
    for (let i = 0; i < count; i++) await client.deliver(user, makeMessage(user, (opts.start ?? 0) + i, opts.size));
  } finally {
    await client.close();
  }
}

/** Appends over IMAP to a named folder (LMTP to user+folder needs the 'p' right). */
export async function appendTo(lab: CyrusLab, user: string, folder: string, count: number, flags = ''): Promise<void> {
  await withImap(lab.master, user, async (c) => {
    for (let i = 0; i < count; i++) await c.append(quote(folder), Buffer.from(makeMessage(user, i)), flags);
  });
}

/** True when neither `log` nor `log-run` exists for the channel. */
export function drained(lab: CyrusLab, channel = lab.channel): boolean {
  const dir = lab.syncLogDir(channel);
  return !fs.existsSync(path.join(dir, 'log')) && !fs.existsSync(path.join(dir, 'log-run'));
}

export async function waitDrained(lab: CyrusLab, timeoutMs = 60_000, channel = lab.channel): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!drained(lab, channel)) {
    if (Date.now() > deadline) throw new Error(`sync log of channel ${channel} not drained within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * True when syncmux has nothing left for the channel: no log, no log-run,
 * and no non-empty shard log, shard run or retry journal.
 */
export function channelDrained(lab: CyrusLab, channel = lab.channel): boolean {
  const dir = lab.syncLogDir(channel);
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return true;
  }
  for (const name of names) {
    if (name === 'log' || name === 'log-run') return false;
    if (!/^(log|log-run)\.\d+$|^retry\.\d+$/.test(name)) continue;
    try {
      if (fs.statSync(path.join(dir, name)).size > 0) return false;
    } catch {
      // removed while we looked
    }
  }
  return true;
}
