/**
 * mailboxes.db, 3.6.1 "version 2" layout (imap/mboxlist.c): `N<dbname>` keys
 * hold one entry per name (live, tombstone `d`, intermediate `i`, reserved `z`
 * …), `I<uniqueid>` keys hold the current name plus rename history. Values are
 * dlist kvlists (T I P S V C F M A [N H]); the pre-3.6 text form is accepted
 * too, as mboxlist_parse_entry does. `A…` reverse-ACL keys and others are
 * ignored. Decoders are pure; Mboxlist wraps one Db snapshot.
 */
import type { CyrusConfig } from './config.js';
import { openDbAsync, queryDb, type OpenDbOptions } from './cyrusdb/open.js';
import type { DbMemos } from './cyrusdb/read-memo.js';
import type { Db } from './cyrusdb/types.js';
import { isKvList, isList, parseDlistValue, toBigNum, toNum32, type DKvList, type DValue } from './dlist-value.js';
import { mbTypeFromBits, parseMbType, type MbType } from './mbtype.js';
import { DB_DOMAINSEP, DB_HIERSEP, dbNameToIntName, intNameToDbName, mailboxOwner, userInbox, type NameContext } from './names.js';
import { CyrusFileError, decodingFile } from './file-error.js';

export interface AclEntry {
  readonly id: string;
  readonly rights: string;
}

export interface MbEntry {
  /** Internal name (`user.tom.Sent`). */
  readonly name: string;
  /** mailboxes.db form (0x1F separators). */
  readonly dbname: string;
  readonly mbtype: MbType;
  readonly uniqueid: string | null;
  readonly partition: string | null;
  readonly server: string | null;
  readonly uidvalidity: number;
  readonly createdmodseq: bigint;
  readonly foldermodseq: bigint;
  readonly mtime: number;
  /** Cyrus' ACL string: `id TAB rights TAB` per entry. */
  readonly acl: string;
  readonly aclEntries: readonly AclEntry[];
  /** Only in pre-3.6 text values. */
  readonly legacySpecialuse: string | null;
}

export interface FormerName {
  readonly name: string;
  readonly mtime: number;
  readonly uidvalidity: number;
  readonly createdmodseq: bigint;
  readonly foldermodseq: bigint;
  readonly mbtype: MbType;
  readonly partition: string | null;
}

/** An `I<uniqueid>` record: where that mailbox lives now, and what it was called before (newest first). */
export interface IdEntry extends Omit<MbEntry, 'uniqueid' | 'legacySpecialuse'> {
  readonly uniqueid: string;
  readonly history: readonly FormerName[];
}

export type EntryState = 'live' | 'tombstone' | 'intermediate' | 'reserved' | 'moving' | 'remote';

export class MboxlistError extends CyrusFileError {
  override readonly code: string = 'SYNCMUX_CYRUS_MBOXLIST';
}

/** How sync treats an entry: only `live` ones have files; tombstones drive UNMAILBOX; intermediates are bare MAILBOX. */
export function entryState(e: Pick<MbEntry, 'mbtype' | 'partition'>): EntryState {
  const t = e.mbtype;
  if (t.deleted) return 'tombstone';
  if (t.intermediate) return 'intermediate';
  if (t.reserve) return 'reserved';
  if (t.moving) return 'moving';
  if (t.remote) return 'remote';
  return 'live';
}

const aclString = (entries: readonly AclEntry[]): string => entries.map((a) => `${a.id}\t${a.rights}\t`).join('');

/** Splits a Cyrus ACL string (`id TAB rights TAB …`). */
export function parseAclString(acl: string): AclEntry[] {
  const parts = acl.split('\t');
  const out: AclEntry[] = [];
  for (let i = 0; i + 1 < parts.length; i += 2) out.push({ id: parts[i] ?? '', rights: parts[i + 1] ?? '' });
  return out;
}

function aclFromDlist(v: DValue | undefined): AclEntry[] {
  if (!isKvList(v)) return [];
  return v.entries.map(([id, r]) => ({ id, rights: typeof r === 'string' ? r : '' }));
}

interface Fields {
  T?: string | null;
  I?: string | null;
  N?: string | null;
  P?: string | null;
  S?: string | null;
  V?: string | null;
  C?: string | null;
  F?: string | null;
  M?: string | null;
  A?: DValue;
  H?: DValue;
}

/** Last value wins, as with Cyrus' SAX callback overwriting fields. */
function fields(kv: DKvList): Fields {
  const f: Record<string, DValue> = {};
  for (const [k, v] of kv.entries) f[k] = v;
  return f as Fields;
}

const str = (v: DValue | undefined): string | null => (typeof v === 'string' ? v : null);

function parseDlistEntry(value: Buffer, what: string): DKvList {
  let v: DValue;
  try {
    v = parseDlistValue(value);
  } catch (e) {
    throw new MboxlistError(`${what}: ${(e as Error).message}`);
  }
  if (!isKvList(v)) throw new MboxlistError(`${what}: value is not a kvlist`);
  return v;
}

/** The pre-3.6 value form: `[(uniqueid X specialuse Y) ]<mbtype-int> [server!]partition acl`. */
function parseLegacyValue(text: string): { uniqueid: string | null; specialuse: string | null; bits: number; server: string | null; partition: string; acl: string } {
  let p = text;
  let uniqueid: string | null = null;
  let specialuse: string | null = null;
  if (p.startsWith('(')) {
    const close = p.indexOf(')');
    const inner = p.slice(1, close < 0 ? undefined : close).split(' ');
    for (let i = 0; i + 1 < inner.length; i += 2) {
      if (inner[i] === 'uniqueid') uniqueid = inner[i + 1] ?? null;
      if (inner[i] === 'specialuse') specialuse = inner[i + 1] ?? null;
    }
    p = close < 0 ? '' : p.slice(close + 1).replace(/^ /, '');
  }
  const m = /^([+-]?\d*) ?/.exec(p);
  const bits = parseInt(m?.[1] || '0', 10) || 0;
  p = p.slice(m?.[0].length ?? 0);
  const sp = p.indexOf(' ');
  let part = sp < 0 ? p : p.slice(0, sp);
  const acl = sp < 0 ? '' : p.slice(sp + 1);
  let server: string | null = null;
  const bang = part.indexOf('!');
  if (bang >= 0) {
    server = part.slice(0, bang);
    part = part.slice(bang + 1);
  }
  return { uniqueid, specialuse, bits, server, partition: part, acl };
}

/** A damaged value (an unknown mbtype letter, say) is an MboxlistError naming the record. */
const entryError = (key: string) => (message: string, cause: unknown) => new MboxlistError(`${key}: ${message}`, '', { cause });

/** Decodes the value of `N<dbname>`. */
export function decodeMbEntry(dbname: string, value: Buffer, ctx: NameContext): MbEntry {
  return decodingFile('', entryError(`N${dbname}`), () => decodeNameRecord(dbname, value, ctx));
}

function decodeNameRecord(dbname: string, value: Buffer, ctx: NameContext): MbEntry {
  const name = dbNameToIntName(dbname, ctx);
  if (value.length === 0) throw new MboxlistError(`${name}: empty mailboxes.db value`);
  if (value[0] !== 0x25) {
    const l = parseLegacyValue(value.toString('utf8'));
    const aclEntries = parseAclString(l.acl);
    return Object.freeze({
      name,
      dbname,
      mbtype: mbTypeFromBits(l.bits),
      uniqueid: l.uniqueid,
      partition: l.partition || null,
      server: l.server,
      uidvalidity: 0,
      createdmodseq: 0n,
      foldermodseq: 0n,
      mtime: 0,
      acl: l.acl,
      aclEntries,
      legacySpecialuse: l.specialuse,
    });
  }
  const f = fields(parseDlistEntry(value, name));
  return Object.freeze({ name, dbname, ...sharedEntryFields(f), uniqueid: str(f.I), legacySpecialuse: null });
}

/** The fields `N` and `I` records share (mboxlist_entry_to_dlist's common keys). */
function sharedEntryFields(f: Fields) {
  const aclEntries = aclFromDlist(f.A);
  return {
    mbtype: parseMbType(str(f.T)),
    partition: str(f.P),
    server: str(f.S),
    uidvalidity: toNum32(str(f.V)),
    createdmodseq: toBigNum(str(f.C)),
    foldermodseq: toBigNum(str(f.F)),
    mtime: toNum32(str(f.M)),
    acl: aclString(aclEntries),
    aclEntries,
  };
}

/** Decodes the value of `I<uniqueid>`. */
export function decodeIdEntry(uniqueid: string, value: Buffer, ctx: NameContext): IdEntry {
  return decodingFile('', entryError(`I${uniqueid}`), () => decodeIdRecord(uniqueid, value, ctx));
}

function decodeIdRecord(uniqueid: string, value: Buffer, ctx: NameContext): IdEntry {
  const f = fields(parseDlistEntry(value, `I${uniqueid}`));
  const dbname = str(f.N) ?? '';
  const history: FormerName[] = [];
  if (isList(f.H)) {
    for (const item of f.H.items) {
      if (!isKvList(item)) continue;
      const h = fields(item);
      history.push(
        Object.freeze({
          name: dbNameToIntName(str(h.N) ?? '', ctx),
          mtime: toNum32(str(h.M)),
          uidvalidity: toNum32(str(h.V)),
          createdmodseq: toBigNum(str(h.C)),
          foldermodseq: toBigNum(str(h.F)),
          mbtype: parseMbType(str(h.T)),
          partition: str(h.P),
        }),
      );
    }
  }
  return Object.freeze({ name: dbNameToIntName(dbname, ctx), dbname, uniqueid, ...sharedEntryFields(f), history });
}

export interface TreeOptions {
  /** Include `d` tombstones (MBOXTREE_TOMBSTONES). */
  tombstones?: boolean;
  /** Include `i` intermediates (MBOXTREE_INTERMEDIATES). */
  intermediates?: boolean;
  /** Also walk the user's `DELETED.user.<lp>.…` tree (MBOXTREE_DELETED). */
  deleted?: boolean;
}

const N = Buffer.from('N');

export const mboxlistPath = (config: CyrusConfig): string => config.db.mboxlist.path ?? `${config.configDirectory}/mailboxes.db`;

/**
 * A view of mailboxes.db: over a whole-file snapshot (open()), or over a
 * locked seeker that reads only what is asked (withLocked(), for point
 * lookups and one user's tree on a large server).
 */
export class Mboxlist {
  constructor(
    readonly db: Pick<Db, 'get' | 'entries'>,
    readonly ctx: NameContext,
  ) {}

  /**
   * Reads config's mailboxes.db (mboxlist_db_path or <configdir>/mailboxes.db)
   * whole, for a walk of every entry (-A, an audit): the image is read under
   * a shared lock waited for on the event loop and held only for the read,
   * then decoded offline.
   */
  static async open(config: CyrusConfig, options: OpenDbOptions = {}): Promise<Mboxlist> {
    return new Mboxlist(await openDbAsync(mboxlistPath(config), options), config);
  }

  /**
   * For a caller that acts on what it finds: point lookups under a shared
   * lock waited for on the event loop, or answered from `memos` while
   * mailboxes.db is unchanged; fn must only read (it may be run against
   * the memo first). A missing mailboxes.db is an error, never "no
   * mailboxes" (a master always has one, and reading it as empty would
   * unsubscribe or delete on the replica).
   */
  static async query<T>(config: CyrusConfig, fn: (ml: Mboxlist) => T, options: OpenDbOptions & { memos?: DbMemos } = {}): Promise<T> {
    const path = mboxlistPath(config);
    const result = await queryDb(path, (db) => ({ value: fn(new Mboxlist(db, config)) }), { ...options, memo: options.memos?.of(path) });
    if (!result) throw new MboxlistError(`${path}: no such file`);
    return result.value;
  }

  /** mboxlist_lookup_allow_all: any entry under that internal name, tombstones included. */
  lookup(intname: string): MbEntry | undefined {
    const dbname = intNameToDbName(intname, this.ctx);
    const v = this.db.get(Buffer.concat([N, Buffer.from(dbname, 'utf8')]));
    return v ? decodedOnce(v, () => decodeMbEntry(dbname, v, this.ctx)) : undefined;
  }

  /** mboxlist_lookup: like lookup() but reserved, tombstone and intermediate entries count as absent. */
  find(intname: string): MbEntry | undefined {
    const e = this.lookup(intname);
    return e && !e.mbtype.reserve && !e.mbtype.deleted && !e.mbtype.intermediate ? e : undefined;
  }

  byUniqueId(uniqueid: string): IdEntry | undefined {
    const v = this.db.get(`I${uniqueid}`);
    return v ? decodedOnce(v, () => decodeIdEntry(uniqueid, v, this.ctx)) : undefined;
  }

  /** Every `N` entry in key order, optionally below a dbname prefix (raw bytes, no separator added). */
  *entries(dbnamePrefix = ''): IterableIterator<MbEntry> {
    for (const e of this.db.entries(Buffer.concat([N, Buffer.from(dbnamePrefix, 'utf8')]))) {
      yield decodeMbEntry(e.key.subarray(1).toString('utf8'), e.value, this.ctx);
    }
  }

  /**
   * Like entries(), but a damaged record is handed to onError and the walk
   * goes on: a pass over every user must not stop at one user's entry.
   */
  *entriesReporting(onError: (err: MboxlistError) => void, dbnamePrefix = ''): IterableIterator<MbEntry> {
    for (const e of this.db.entries(Buffer.concat([N, Buffer.from(dbnamePrefix, 'utf8')]))) {
      try {
        yield decodeMbEntry(e.key.subarray(1).toString('utf8'), e.value, this.ctx);
      } catch (err) {
        if (!(err instanceof MboxlistError)) throw err;
        onError(err);
      }
    }
  }

  /** Every `I` entry in key order. */
  *idEntries(): IterableIterator<IdEntry> {
    for (const e of this.db.entries('I')) yield decodeIdEntry(e.key.subarray(1).toString('utf8'), e.value, this.ctx);
  }

  /** mboxlist_mboxtree: the mailbox, its children, and optionally its DELETED tree. */
  *tree(intname: string, options: TreeOptions = {}): IterableIterator<MbEntry> {
    const keep = (e: MbEntry): boolean => (options.tombstones || !e.mbtype.deleted) && (options.intermediates || !e.mbtype.intermediate);
    const root = this.lookup(intname);
    if (root && keep(root)) yield root;
    const dbname = intNameToDbName(intname, this.ctx);
    for (const e of this.entries(dbname + DB_HIERSEP)) if (keep(e)) yield e;
    if (options.deleted) {
      const gs = dbname.indexOf(DB_DOMAINSEP);
      const dp = this.ctx.deletedPrefix;
      const prefix =
        gs >= 0
          ? `${dbname.slice(0, gs)}${DB_DOMAINSEP}${dp}${DB_HIERSEP}${dbname.slice(gs + 1)}${DB_HIERSEP}`
          : `${dp}${DB_HIERSEP}${dbname}${DB_HIERSEP}`;
      for (const e of this.entries(prefix)) if (keep(e)) yield e;
    }
  }

  /** mboxlist_usermboxtree(userid): INBOX, sub-mailboxes, and (by default here) the DELETED tree. */
  userTree(userid: string, options: TreeOptions = { deleted: true }): IterableIterator<MbEntry> {
    return this.tree(userInbox(userid, this.ctx), options);
  }

  /** The user's INBOX entry in any state, or undefined. */
  inbox(userid: string): MbEntry | undefined {
    return this.lookup(userInbox(userid, this.ctx));
  }

  /**
   * The INBOX entry Cyrus uses for per-user file paths (mboxname_conf_getpath):
   * the INBOX if present, else — mid-rename — the INBOX of a former owner found
   * through the `I` history of the mailbox `intname`.
   */
  confInbox(userid: string, intname?: string): MbEntry | undefined {
    const direct = this.inbox(userid);
    if (direct || !intname) return direct;
    const byName = this.lookup(intname);
    const byId = byName?.uniqueid ? this.byUniqueId(byName.uniqueid) : undefined;
    for (const h of byId?.history ?? []) {
      const owner = mailboxOwner(h.name, this.ctx);
      if (owner === null) continue;
      const e = this.inbox(owner);
      if (e) return e;
    }
    return undefined;
  }
}

/**
 * Entries decoded from a value buffer, by that buffer: a DbMemo hands out
 * the same buffer for an unchanged record, so a steady-state lookup decodes
 * nothing. Entries are frozen and the key is the record's own bytes (the
 * name and uniqueid it was decoded with are in the record's key, which is
 * what produced this buffer), so sharing one is invisible.
 */
const decodedByValue = new WeakMap<Buffer, MbEntry | IdEntry>();

function decodedOnce<T extends MbEntry | IdEntry>(value: Buffer, decode: () => T): T {
  let entry = decodedByValue.get(value) as T | undefined;
  if (!entry) decodedByValue.set(value, (entry = decode()));
  return entry;
}
