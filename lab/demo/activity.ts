/**
 * A seeded, realistic mix of mail activity against a lab master, for the
 * demo and the random-workload tests: deliveries (most of it), flag and
 * keyword changes, seen by the owner and by a sharer, expunges, folder
 * creates/renames/deletes with spaces and non-ASCII names, subscriptions,
 * quota and ACL changes, mailbox metadata, and the odd cross-user move.
 */
import type { CyrusLab } from '../cyrus-lab.js';
import { imap } from '../lab-ops.js';
import { LmtpClient, makeMessage } from '../lmtp-client.js';

/** Small deterministic PRNG (mulberry32) so a failing run can be replayed by seed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const FOLDER_NAMES = ['Projects', 'Receipts 2026', 'R&AOk-sum&AOk-s', 'Family/Photos', 'Lists'];

export async function runActivity(lab: CyrusLab, users: string[], durationMs: number, counter: { events: number }, seed = 42): Promise<void> {
  const random = prng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
  let lmtp = await LmtpClient.connect(lab.master.ports.lmtp);
  const created = new Map<string, string[]>();
  let n = 0;
  const end = Date.now() + durationMs;
  try {
    while (Date.now() < end) {
      const user = pick(users);
      const roll = random();
      n++;
      if (roll < 0.6) {
        try {
          await lmtp.deliver(user, makeMessage(user, n, 500 + Math.floor(random() * 4000)));
        } catch (error) {
          // The quotas this activity sets fill up on a long run (the soak): Cyrus refuses, as it should.
          if (!/Over quota/.test((error as Error).message)) throw error;
          await lmtp.close().catch(() => undefined);
          lmtp = await LmtpClient.connect(lab.master.ports.lmtp); // the refused transaction may be half open
        }
      } else if (roll < 0.72) {
        await imap(lab.master, user, 'SELECT INBOX', `STORE 1:${1 + Math.floor(random() * 3)} +FLAGS (${pick(['\\Seen', '\\Flagged', '$Work', '\\Answered'])})`).catch(() => undefined);
      } else if (roll < 0.77) {
        await imap(lab.master, user, 'SELECT INBOX', 'STORE 1 +FLAGS (\\Deleted)', 'EXPUNGE').catch(() => undefined);
      } else if (roll < 0.83) {
        const mine = created.get(user) ?? [];
        const name = pick(FOLDER_NAMES);
        if (!mine.includes(name)) {
          await imap(lab.master, user, `CREATE "${name}"`, `SUBSCRIBE "${name}"`).catch(() => undefined);
          created.set(user, [...mine, name]);
        }
      } else if (roll < 0.86) {
        const mine = created.get(user) ?? [];
        if (mine.length) {
          const from = mine[0]!;
          const to = `${from.split('/')[0]} ${n}`;
          await imap(lab.master, user, `RENAME "${from}" "${to}"`).catch(() => undefined);
          created.set(user, [to, ...mine.slice(1)]);
        }
      } else if (roll < 0.88) {
        const mine = created.get(user) ?? [];
        if (mine.length) {
          await imap(lab.master, user, `DELETE "${mine[mine.length - 1]}"`).catch(() => undefined);
          created.set(user, mine.slice(0, -1));
        }
      } else if (roll < 0.91) {
        const other = pick(users);
        if (other !== user) {
          await imap(lab.master, user, `SETACL INBOX ${other} lrs`).catch(() => undefined);
          await imap(lab.master, other, `SELECT "Other Users/${user}"`, 'STORE 1 +FLAGS (\\Seen)').catch(() => undefined);
        }
      } else if (roll < 0.94) {
        await imap(lab.master, user, pick(['UNSUBSCRIBE Trash', 'SUBSCRIBE Trash', 'UNSUBSCRIBE Archive'])).catch(() => undefined);
      } else if (roll < 0.96) {
        await imap(lab.master, null, `SETQUOTA "user/${user}" (STORAGE ${10000 + Math.floor(random() * 90000)})`).catch(() => undefined);
      } else if (roll < 0.98) {
        await imap(lab.master, user, `SETMETADATA INBOX (/private/comment "note ${n}")`).catch(() => undefined);
      } else {
        const other = pick(users);
        if (other !== user) await imap(lab.master, null, `RENAME "user/${user}/Archive" "user/${other}/From ${user} ${n}"`).catch(() => undefined);
      }
      counter.events++;
    }
  } finally {
    await lmtp.close();
  }
}
