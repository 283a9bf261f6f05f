/**
 * Real-master assertions on per-user and annotation data: seen.db and
 * sub.db (paths vs `mbpath -j`, raw records vs `cyr_dbtool` on copies,
 * meaning vs IMAP FETCH FLAGS and LIST (SUBSCRIBED)), annotations.db and each
 * cyrus.annotations (raw vs `cyr_dbtool`, meaning vs GETMETADATA and
 * FETCH ANNOTATION), and quota roots vs the `quota` tool.
 */
import * as assert from 'uvu/assert';
import { listQuotaRoots, Mboxlist, readQuota, readUserSeen, readUserSubscriptions, seenPath, subsPath, type Annotation } from '../../../src/cyrus/index.js';
import type { CyrusLab } from '../../../lab/cyrus-lab.js';
import { pairs, quote } from '../../../lab/imap-tokens.js';
import { withImap } from '../../../lab/lab-ops.js';
import { fromUserName, ownerName, viewerName } from './ext-names.js';
import { imapMessageAnnotations, imapMetadata } from './imap-view.js';
import type { ReaderView } from './reader-view.js';
import { dbtoolShow, mbpath, quotaReport } from './tool-oracles.js';
import { readDbSync } from '../../support/read-db-sync.js';

const hex = (rows: Iterable<readonly [Buffer, Buffer]>): string[] => [...rows].map(([k, v]) => `${k.toString('hex')}=${v.toString('hex')}`);

/** Raw records of a cyrusdb file: reader vs cyr_dbtool on a copy; [] when the file is absent for both. */
function sameRaw(lab: CyrusLab, file: string, backend: 'twoskip' | 'flat'): number {
  const db = readDbSync(file);
  if (!db) return 0;
  assert.equal(hex([...db.entries()].map((e) => [e.key, e.value] as const)), hex(dbtoolShow(lab, file, backend)), `${file} = cyr_dbtool`);
  return db.size;
}

/** Expands an IMAP sequence set ("1:2,4") of UIDs. */
function uidSet(seq: string): number[] {
  const out: number[] = [];
  for (const part of seq.split(',').filter(Boolean)) {
    const [a, b] = part.split(':').map(Number);
    for (let u = a ?? 0; u <= (b ?? a ?? 0); u++) out.push(u);
  }
  return out;
}

/** Returns how many non-owner seen entries and subscriptions were compared. */
export async function checkSeenAndSubs(lab: CyrusLab, view: ReaderView, users: readonly string[]): Promise<{ seen: number; subs: number }> {
  const counts = { seen: 0, subs: 0 };
  const ml = await Mboxlist.open(view.cfg);
  const byUid = new Map(view.entries.filter((e) => e.uniqueid && !e.mbtype.deleted).map((e) => [e.uniqueid, e.name]));
  for (const user of users) {
    const inbox = ml.inbox(user);
    assert.ok(inbox, `${user} has an INBOX`);
    const paths = mbpath(lab, inbox.name).user ?? {};
    assert.is(seenPath(view.cfg, ml, user), paths.seen, `${user} seen path`);
    assert.is(subsPath(view.cfg, ml, user), paths.sub, `${user} sub path`);
    sameRaw(lab, paths.seen ?? '', 'twoskip');
    sameRaw(lab, paths.sub ?? '', 'flat');

    // Non-owner seen state: what the user sees as \Seen in someone else's mailbox.
    for (const seen of await readUserSeen(view.cfg, ml, user)) {
      const name = byUid.get(seen.uniqueid);
      assert.ok(name, `${user} seen entry ${seen.uniqueid} names a mailbox`);
      const snap = view.snapshots.get(name)!;
      const seenUids = await withImap(lab.master, user, async (c) => {
        await c.command(`EXAMINE ${quote(viewerName(name, user) ?? '')}`);
        const res = await c.command('UID FETCH 1:* (UID FLAGS)');
        const items = res.untagged.filter((t) => t[1] === 'FETCH').map((t) => pairs(t[2] ?? null));
        return items.filter((it) => (it.get('FLAGS') as string[]).includes('\\Seen')).map((it) => Number(it.get('UID')));
      });
      const live = new Set(snap.records.map((r) => r.uid));
      assert.equal(uidSet(seen.seenuids).filter((u) => live.has(u)), seenUids, `${user} seen in ${name}`);
      assert.is(seen.lastuid, snap.index.lastUid, `${user} lastuid in ${name}`);
      counts.seen++;
    }

    // LIST (SUBSCRIBED), not LSUB: 3.6.1's LSUB hides subscriptions whose mailbox is gone, which are kept and replicated.
    const subscribed = await withImap(lab.master, user, async (c) => (await c.command('LIST (SUBSCRIBED) "" "*"')).untagged.filter((t) => t[0] === 'LIST').map((t) => fromUserName(String(t[3]), user)));
    assert.equal((await readUserSubscriptions(view.cfg, ml, user)).sort(), subscribed.sort(), `${user} subscriptions vs LIST (SUBSCRIBED)`);
    counts.subs += subscribed.length;
  }
  return counts;
}

const imapKey = (a: Annotation): string => `${a.userid === '' ? '/shared' : '/private'}${a.entry}`;

/** Returns how many stored mailbox and message annotations were matched over IMAP. */
export async function checkAnnotations(lab: CyrusLab, view: ReaderView, users: readonly string[]): Promise<{ mailbox: number; message: number }> {
  const counts = { mailbox: 0, message: 0 };
  sameRaw(lab, view.cfg.db.annotation.path ?? `${view.cfg.configDirectory}/annotations.db`, 'twoskip');
  for (const [name, s] of view.snapshots) {
    if (sameRaw(lab, s.paths.annotations, 'twoskip') === 0) assert.is(s.messageAnnotations.size, 0, name);
    if (!s.owner || name.includes('DELETED.')) continue;
    // Each viewer sees the shared values and their own private ones, nothing else that is stored.
    for (const viewer of users) {
      const ext = viewerName(name, viewer);
      if (ext === null) continue;
      const visible = await withImap(lab.master, viewer, async (c) => {
        // Only where the viewer may look ('l' and 'r'); elsewhere GETMETADATA says nothing useful.
        if ((await c.command(`EXAMINE ${quote(ext)}`, false)).status !== 'OK') return null;
        await c.command('UNSELECT');
        return imapMetadata(c, ext);
      });
      if (!visible) continue;
      const stored = Object.fromEntries(Object.entries(visible).filter(([k]) => !k.includes('/vendor/cmu/cyrus-imapd/')));
      const mine = s.mailboxAnnotations.filter((a) => a.userid === '' || a.userid === viewer);
      // The harness client hands strings over as latin1 (bytes as they came).
      assert.equal(Object.fromEntries(mine.map((a) => [imapKey(a), a.value.toString('latin1')])), stored, `${name} metadata as ${viewer}`);
      counts.mailbox += mine.length;
    }
    const entries = [...new Set([...s.messageAnnotations.values()].flat().map((a) => a.entry))];
    if (entries.length === 0) continue;
    const got = await withImap(lab.master, s.owner, (c) => imapMessageAnnotations(c, ownerName(name, s.owner!) ?? '', entries));
    const want = new Map<number, Record<string, string>>();
    for (const [uid, list] of s.messageAnnotations) {
      const rec: Record<string, string> = {};
      for (const a of list) if (a.userid === '' || a.userid === s.owner) rec[`${a.entry} value.${a.userid === '' ? 'shared' : 'priv'}`] = a.value.toString('latin1');
      want.set(uid, rec);
    }
    assert.equal(Object.fromEntries(got), Object.fromEntries(want), `${name} message annotations`);
    counts.message += [...want.values()].reduce((n, r) => n + Object.keys(r).length, 0);
  }
  return counts;
}

export function checkQuota(lab: CyrusLab, view: ReaderView, domains: ReadonlyArray<string | undefined> = [undefined]): string[] {
  const rows = domains.flatMap((d) => quotaReport(lab, d));
  const roots = listQuotaRoots(view.cfg);
  assert.equal(roots, [...new Set(rows.map((r) => r.root))].sort(), 'quota roots');
  for (const root of roots) {
    const q = readQuota(view.cfg, root);
    assert.ok(q, root);
    for (const r of rows.filter((x) => x.root === root)) {
      const res = r.resource as keyof typeof q.used;
      const kib = res === 'STORAGE' || res === 'X-ANNOTATION-STORAGE';
      assert.is(q.limits[res] === null ? null : Number(q.limits[res]), r.limit, `${root} ${res} limit`);
      assert.is(kib ? Math.floor(Number(q.used[res]) / 1024) : Number(q.used[res]), r.used, `${root} ${res} used`);
    }
  }
  return roots;
}
