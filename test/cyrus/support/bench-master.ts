/**
 * A real Cyrus 3.6.1 master tree for the reader benchmarks, built once on a
 * harness lab through IMAP (MULTIAPPEND for bulk mail) and cached as a plain
 * directory (conf, spool, sieve, an imapd.conf pointing at them) under the
 * repo's gitignored .bench-cache/. The benchmarks only read it, so no Cyrus
 * needs to run at bench time; a missing or older cache is rebuilt (about two
 * minutes) when the harness can run.
 *   - user.big: one INBOX of 50,000 messages (flags, keywords, 1,000 expunged)
 *   - user.snap: 50 folders of 400 messages each (~3 KB bodies)
 *   - 500 users × 20 mailboxes, for a mailboxes.db of over 10,000 entries
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { CyrusLab } from '../../../lab/cyrus-lab.js';
import type { AppendMessage, ImapClient } from '../../../lab/imap-client.js';
import { withImap } from '../../../lab/lab-ops.js';
import { makeMessage } from '../../../lab/lmtp-client.js';

export const BENCH_SPEC = { version: 1, bigMessages: 50_000, snapFolders: 50, snapPerFolder: 400, users: 500, mailboxesPerUser: 20 } as const;

export interface BenchMaster {
  dir: string;
  imapdConf: string;
  spec: typeof BENCH_SPEC;
}

const KEYWORDS = ['$Label1', '$Label2', '$Work', '$Personal', 'Later'];

function flagsFor(i: number): string {
  const f: string[] = [];
  if (i % 3 !== 0) f.push('\\Seen');
  if (i % 17 === 0) f.push('\\Flagged');
  if (i % 11 === 0) f.push('\\Answered');
  if (i % 7 === 0) f.push(KEYWORDS[i % KEYWORDS.length]!);
  return f.join(' ');
}

async function appendMany(c: ImapClient, mailbox: string, user: string, count: number, size: number, batch = 1000): Promise<void> {
  for (let i = 0; i < count; i += batch) {
    const msgs: AppendMessage[] = [];
    for (let j = i; j < Math.min(count, i + batch); j++) msgs.push({ body: Buffer.from(makeMessage(user, j, size + (j % 7) * 300, 'bench')), flags: flagsFor(j) });
    await c.multiAppend(mailbox, msgs);
  }
}

async function populate(lab: CyrusLab, log: (s: string) => void): Promise<void> {
  const s = BENCH_SPEC;
  await withImap(lab.master, null, (c) => c.command('CREATE "user/big"').then(() => c.command('CREATE "user/snap"')));
  log(`  ${s.bigMessages} messages into user.big (MULTIAPPEND)`);
  await withImap(lab.master, 'big', async (c) => {
    await appendMany(c, 'INBOX', 'big', s.bigMessages, 800);
    await c.command('SELECT INBOX');
    const doomed = Array.from({ length: s.bigMessages / 50 }, (_, k) => k * 50 + 1).join(',');
    await c.command(`UID STORE ${doomed} +FLAGS.SILENT (\\Deleted)`);
    await c.command(`UID EXPUNGE ${doomed}`); // expunge_mode delayed: they stay in the index
  });
  log(`  ${s.snapFolders} folders × ${s.snapPerFolder} messages into user.snap`);
  const halves = [0, 1].map((h) => Array.from({ length: s.snapFolders / 2 }, (_, k) => `Folder ${String(h * (s.snapFolders / 2) + k).padStart(2, '0')}`));
  await Promise.all(halves.map((folders) => withImap(lab.master, 'snap', async (c) => {
    for (const f of folders) {
      await c.command(`CREATE "${f}"`);
      await appendMany(c, `"${f}"`, 'snap', s.snapPerFolder, 2400, 400);
    }
  })));
  log(`  ${s.users} users × ${s.mailboxesPerUser} mailboxes`);
  await Promise.all([0, 1].map((h) => withImap(lab.master, null, async (c) => {
    for (let u = h; u < s.users; u += 2) {
      const user = `user/u${String(u).padStart(4, '0')}`;
      await c.command(`CREATE "${user}"`);
      for (let m = 1; m < s.mailboxesPerUser; m++) await c.command(`CREATE "${user}/box ${m}"`);
    }
  })));
}

/** The cached master, building it first if needed; throws when it cannot be built. */
export async function ensureBenchMaster(cacheRoot: string, log: (s: string) => void = (s) => console.error(s)): Promise<BenchMaster> {
  const dir = path.join(cacheRoot, `cyrus-master-v${BENCH_SPEC.version}`);
  const imapdConf = path.join(dir, 'imapd.conf');
  const marker = path.join(dir, 'BUILT.json');
  if (fs.existsSync(marker) && fs.readFileSync(marker, 'utf8') === JSON.stringify(BENCH_SPEC)) return { dir, imapdConf, spec: BENCH_SPEC };

  log(`building the bench master in ${dir} (one time, about two minutes)`);
  const started = Date.now();
  const lab = await CyrusLab.start();
  try {
    await populate(lab, log);
    await lab.stop(); // a quiescent tree to copy: no writer mid-commit
    const tmp = `${dir}.tmp-${process.pid}`;
    fs.rmSync(tmp, { recursive: true, force: true });
    fs.mkdirSync(tmp, { recursive: true });
    const p = lab.master.paths;
    // cp -a keeps the cyrus ownership and modes, so the copy is as private as the original.
    execFileSync('cp', ['-a', p.configDirectory, p.spool, p.sieveDir, tmp]);
    const conf = fs.readFileSync(p.imapdConf, 'utf8').split(p.root).join(dir);
    fs.writeFileSync(path.join(tmp, 'imapd.conf'), conf, { mode: 0o644 });
    fs.writeFileSync(path.join(tmp, 'BUILT.json'), JSON.stringify(BENCH_SPEC));
    fs.chmodSync(tmp, 0o755);
    fs.rmSync(dir, { recursive: true, force: true });
    fs.renameSync(tmp, dir);
  } finally {
    await lab.destroy();
  }
  log(`  built in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  return { dir, imapdConf, spec: BENCH_SPEC };
}
