/**
 * Master vs replica over IMAP: the harness's ground truth for "replicated".
 * Per user (the admin acting as the user): LIST with flags, LSUB, quota
 * root; per mailbox STATUS, MAILBOXID, ACL, /private and /shared comments;
 * per message UID, FLAGS (without \Recent), INTERNALDATE, size, MODSEQ,
 * EMAILID and the body's SHA-1. Without named users it also compares the
 * admin's LIST "*" (which shows DELETED.* mailboxes) and, as the admin, the
 * same per-mailbox state of every shared (non-user) mailbox. Read-only:
 * EXAMINE, never SELECT, so nothing is written to the sync log.
 */
import crypto from 'node:crypto';
import { ImapClient } from './imap-client.js';
import { pairs, quote, type ImapToken } from './imap-tokens.js';
import { ADMIN, type CyrusLab } from './cyrus-lab.js';

export interface CompareResult {
  equal: boolean;
  differences: string[];
}

type Snapshot = Record<string, unknown>;

export async function compareLab(lab: CyrusLab, users?: string[]): Promise<CompareResult> {
  const differences: string[] = [];
  if (!users) {
    const [m, r] = await Promise.all([adminList(lab.master.ports.imap), adminList(lab.replica.ports.imap)]);
    diff('admin LIST', m, r, differences);
    users = [...new Set([...m, ...r].map(userOfListName).filter((u): u is string => !!u))].sort();
    const shared = [...new Set([...m, ...r].filter(isSharedMailbox))].sort();
    if (shared.length) {
      const [ms, rs] = await Promise.all([snapshotShared(lab.master.ports.imap, shared), snapshotShared(lab.replica.ports.imap, shared)]);
      diff('shared', ms, rs, differences);
    }
  }
  for (const user of users) {
    const [m, r] = await Promise.all([snapshotUser(lab.master.ports.imap, user), snapshotUser(lab.replica.ports.imap, user)]);
    diff(`user ${user}`, m, r, differences);
  }
  return { equal: differences.length === 0, differences };
}

function userOfListName(name: string): string | null {
  const m = /^user\/([^/]+)$/.exec(name);
  return m ? m[1]! : null;
}

/** Not a user's, not a delayed-delete leftover (those are checked by name only). */
function isSharedMailbox(name: string): boolean {
  return !/^user\//.test(name) && !/^DELETED\//.test(name);
}

async function snapshotShared(port: number, names: string[]): Promise<Snapshot> {
  const client = await ImapClient.login(port, ADMIN.user, ADMIN.password);
  try {
    const snap: Snapshot = {};
    for (const name of names) snap[`mailbox ${name}`] = await snapshotMailbox(client, name);
    return snap;
  } finally {
    await client.logout();
  }
}

async function adminList(port: number): Promise<string[]> {
  const client = await ImapClient.login(port, ADMIN.user, ADMIN.password);
  try {
    const res = await client.command('LIST "" "*"');
    return res.untagged.filter((t) => t[0] === 'LIST').map((t) => String(t[3])).sort();
  } finally {
    await client.logout();
  }
}

export async function snapshotUser(port: number, user: string): Promise<Snapshot> {
  const client = await ImapClient.login(port, ADMIN.user, ADMIN.password, user);
  try {
    const snap: Snapshot = {};
    const list = await client.command('LIST "" "*"');
    const mailboxes = new Map<string, string[]>();
    for (const t of list.untagged) {
      if (t[0] !== 'LIST') continue;
      const flags = (Array.isArray(t[1]) ? t[1] : []).map(String).sort();
      mailboxes.set(String(t[3]), flags);
    }
    snap.list = Object.fromEntries([...mailboxes].sort(([a], [b]) => a.localeCompare(b)));
    const lsub = await client.command('LSUB "" "*"');
    snap.lsub = lsub.untagged.filter((t) => t[0] === 'LSUB').map((t) => String(t[3])).sort();
    const quota = await client.command('GETQUOTAROOT INBOX', false);
    snap.quota = quota.untagged.map(flatten).sort();
    for (const [name, flags] of mailboxes) {
      if (flags.some((f) => /^\\noselect$/i.test(f) || /^\\nonexistent$/i.test(f))) continue;
      snap[`mailbox ${name}`] = await snapshotMailbox(client, name);
    }
    return snap;
  } finally {
    await client.logout();
  }
}

async function snapshotMailbox(client: ImapClient, name: string): Promise<Snapshot> {
  const q = quote(name);
  const out: Snapshot = {};
  // An admin may lack 'r' on a shared mailbox: then both sides must refuse alike.
  const status = await client.command(`STATUS ${q} (UIDVALIDITY UIDNEXT HIGHESTMODSEQ MESSAGES)`, false);
  out.status = status.status === 'OK' ? flatten(status.untagged.find((t) => t[0] === 'STATUS')?.[2] ?? null) : status.status;
  // Cyrus 3.6.1 garbles MAILBOXID when STATUS asks for other items too.
  const id = await client.command(`STATUS ${q} (MAILBOXID)`, false);
  out.mailboxId = id.status === 'OK' ? flatten(id.untagged.find((t) => t[0] === 'STATUS')?.[2] ?? null) : id.status;
  const acl = await client.command(`GETACL ${q}`, false);
  out.acl = acl.status === 'OK' ? aclPairs(acl.untagged.find((t) => t[0] === 'ACL')) : acl.status;
  const meta = await client.command(`GETMETADATA ${q} (/private/comment /shared/comment)`, false);
  out.metadata = meta.untagged.filter((t) => t[0] === 'METADATA').map(flatten);
  const examine = await client.command(`EXAMINE ${q}`, false);
  if (examine.status !== 'OK') {
    out.messages = examine.status;
    return out;
  }
  const messages: Record<string, unknown> = {};
  const uidNext = Number(/\bUIDNEXT (\d+)/i.exec(String(out.status))?.[1] ?? 0);
  // By UID ranges: a million-message mailbox's bodies at once would not fit in the heap.
  // The last range is open-ended, so a message that came after the STATUS is compared too.
  for (let from = 1; ; from += FETCH_CHUNK_UIDS) {
    const last = from + FETCH_CHUNK_UIDS >= uidNext;
    const fetch = await client.command(`UID FETCH ${from}:${last ? '*' : from + FETCH_CHUNK_UIDS - 1} (UID FLAGS INTERNALDATE RFC822.SIZE MODSEQ EMAILID BODY.PEEK[])`);
    addMessages(fetch.untagged, messages);
    if (last) break;
  }
  out.messages = messages;
  return out;
}

/** UIDs per FETCH of a mailbox's messages. */
const FETCH_CHUNK_UIDS = 5000;

function addMessages(untagged: ImapToken[][], messages: Record<string, unknown>): void {
  for (const t of untagged) {
    if (t[1] !== 'FETCH') continue;
    const items = pairs(t[2] ?? null);
    const uid = String(items.get('UID'));
    const body = items.get('BODY[]');
    messages[uid] = {
      flags: (Array.isArray(items.get('FLAGS')) ? (items.get('FLAGS') as ImapToken[]) : [])
        .map(String).filter((f) => f !== '\\Recent').sort(),
      internaldate: items.get('INTERNALDATE'),
      size: items.get('RFC822.SIZE'),
      modseq: flatten(items.get('MODSEQ') ?? null),
      emailid: flatten(items.get('EMAILID') ?? null),
      sha1: typeof body === 'string' ? crypto.createHash('sha1').update(Buffer.from(body, 'latin1')).digest('hex') : null,
    };
  }
}

function aclPairs(t: ImapToken[] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (!t) return out;
  for (let i = 2; i + 1 < t.length; i += 2) out[String(t[i])] = String(t[i + 1]);
  return out;
}

function flatten(t: ImapToken): string {
  if (Array.isArray(t)) return `(${t.map(flatten).join(' ')})`;
  return t === null ? 'NIL' : t;
}

function diff(where: string, a: unknown, b: unknown, out: string[]): void {
  if (isObject(a) && isObject(b)) {
    for (const key of new Set([...Object.keys(a), ...Object.keys(b)])) {
      if (!(key in b)) out.push(`${where} / ${key}: only on master`);
      else if (!(key in a)) out.push(`${where} / ${key}: only on replica`);
      else diff(`${where} / ${key}`, a[key], b[key], out);
    }
    return;
  }
  const sa = JSON.stringify(a);
  const sb = JSON.stringify(b);
  if (sa !== sb) out.push(`${where}: master ${short(sa)} != replica ${short(sb)}`);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function short(s: string | undefined): string {
  if (s === undefined) return 'undefined';
  return s.length > 200 ? `${s.slice(0, 200)}…` : s;
}
