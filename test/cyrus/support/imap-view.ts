/**
 * What IMAP says about a mailbox, for comparison with the reader: STATUS,
 * MAILBOXID, the stored sync CRCs imapd exposes as metadata, and per message UID, FLAGS, RFC822.SIZE, INTERNALDATE, MODSEQ
 * and DIGEST.SHA1 (Cyrus 3.6 serves the stored GUID under that name).
 * Read-only: EXAMINE, never SELECT, so no \Recent or seen state changes.
 */
import type { ImapClient } from '../../../lab/imap-client.js';
import { pairs, quote, type ImapToken } from '../../../lab/imap-tokens.js';

export interface ImapMessage {
  uid: number;
  flags: string[];
  size: number;
  internaldate: number;
  modseq: bigint;
  sha1: string;
}

export interface ImapMailbox {
  messages: number;
  uidnext: number;
  uidvalidity: number;
  highestmodseq: bigint;
  mailboxId: string;
  /** imapd's "<SYNC_CRC> <SYNC_CRC_ANNOT>" (/shared/vendor/cmu/cyrus-imapd/synccrcs). */
  synccrcs: string;
  list: ImapMessage[];
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** IMAP date-time ("25-Nov-2026 18:58:40 +0000") → Unix seconds. */
export function imapDate(s: string): number {
  const m = /^\s*(\d+)-(\w{3})-(\d{4}) (\d\d):(\d\d):(\d\d) ([+-])(\d\d)(\d\d)$/.exec(s);
  if (!m) throw new Error(`bad IMAP date ${s}`);
  const utc = Date.UTC(Number(m[3]), MONTHS.indexOf(m[2] ?? ''), Number(m[1]), Number(m[4]), Number(m[5]), Number(m[6])) / 1000;
  const offset = (Number(m[8]) * 60 + Number(m[9])) * 60;
  return m[7] === '+' ? utc - offset : utc + offset;
}

const first = (t: ImapToken | undefined): string => String(Array.isArray(t) ? t[0] : t);

function statusItems(untagged: ImapToken[][]): Map<string, ImapToken> {
  return pairs(untagged.find((t) => t[0] === 'STATUS')?.[2] ?? null);
}

export async function imapMailbox(c: ImapClient, name: string): Promise<ImapMailbox> {
  const q = quote(name);
  const st = statusItems((await c.command(`STATUS ${q} (MESSAGES UIDNEXT UIDVALIDITY HIGHESTMODSEQ)`)).untagged);
  // Asked alone: Cyrus 3.6.1 garbles MAILBOXID when STATUS asks for other items too.
  const id = statusItems((await c.command(`STATUS ${q} (MAILBOXID)`)).untagged);
  const crcs = await c.command(`GETMETADATA ${q} (/shared/vendor/cmu/cyrus-imapd/synccrcs)`);
  const crcItem = crcs.untagged.find((t) => t[0] === 'METADATA')?.[2];
  await c.command(`EXAMINE ${q}`);
  const fetched = await c.command('UID FETCH 1:* (UID FLAGS RFC822.SIZE INTERNALDATE MODSEQ DIGEST.SHA1)');
  const list: ImapMessage[] = [];
  for (const t of fetched.untagged) {
    if (t[1] !== 'FETCH') continue;
    const it = pairs(t[2] ?? null);
    const flags = it.get('FLAGS');
    list.push({
      uid: Number(it.get('UID')),
      flags: (Array.isArray(flags) ? flags.map(String) : []).filter((f) => f !== '\\Recent').sort(),
      size: Number(it.get('RFC822.SIZE')),
      internaldate: imapDate(String(it.get('INTERNALDATE'))),
      modseq: BigInt(first(it.get('MODSEQ'))),
      sha1: String(it.get('DIGEST.SHA1')),
    });
  }
  await c.command('UNSELECT');
  return {
    messages: Number(st.get('MESSAGES')),
    uidnext: Number(st.get('UIDNEXT')),
    uidvalidity: Number(st.get('UIDVALIDITY')),
    highestmodseq: BigInt(String(st.get('HIGHESTMODSEQ'))),
    mailboxId: first(id.get('MAILBOXID')),
    synccrcs: String(Array.isArray(crcItem) ? crcItem[1] : null),
    list: list.sort((a, b) => a.uid - b.uid),
  };
}

/** GETMETADATA of every /private and /shared entry the test set ("depth infinity" lists only set ones). */
export async function imapMetadata(c: ImapClient, name: string): Promise<Record<string, string>> {
  const res = await c.command(`GETMETADATA (DEPTH infinity) ${quote(name)} (/private /shared)`);
  const out: Record<string, string> = {};
  for (const t of res.untagged) {
    if (t[0] !== 'METADATA' || !Array.isArray(t[2])) continue;
    for (let i = 0; i + 1 < t[2].length; i += 2) {
      const v = t[2][i + 1];
      if (v !== null && v !== undefined) out[String(t[2][i])] = String(v);
    }
  }
  return out;
}

/** FETCH ANNOTATION of the given message entries: uid → "entry value.priv|value.shared" → value. */
export async function imapMessageAnnotations(c: ImapClient, name: string, entries: string[]): Promise<Map<number, Record<string, string>>> {
  await c.command(`EXAMINE ${quote(name)}`);
  const res = await c.command(`UID FETCH 1:* (ANNOTATION ((${entries.join(' ')}) (value.priv value.shared)))`);
  await c.command('UNSELECT');
  const out = new Map<number, Record<string, string>>();
  for (const t of res.untagged) {
    if (t[1] !== 'FETCH') continue;
    const it = pairs(t[2] ?? null);
    const ann = it.get('ANNOTATION');
    const rec: Record<string, string> = {};
    if (Array.isArray(ann)) {
      for (let i = 0; i + 1 < ann.length; i += 2) {
        const attrs = pairs(ann[i + 1] ?? null);
        for (const [k, v] of attrs) if (typeof v === 'string') rec[`${String(ann[i])} ${k.toLowerCase()}`] = v;
      }
    }
    if (Object.keys(rec).length) out.set(Number(it.get('UID')), rec);
  }
  return out;
}
