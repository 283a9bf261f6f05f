/**
 * The typed command set of a Cyrus 3.6.1 replica (sync_server's GET and
 * APPLY sub-commands, RESTART, NOOP, EXIT) over one SyncConnection. Each
 * method builds the exact DLIST Cyrus expects and returns the reply items;
 * decoding those into engine types lives in replica-state.ts. Methods do
 * not wait for one another, so the caller pipelines simply by not awaiting.
 */
import { atom, bytes, keyed, kvlist, list, num, type DFile, type DKvList, type Fields, type Keyed } from '../dlist/index.js';
import type { Reply, SyncConnection } from './connection.js';
import { SyncProtocolError } from './errors.js';

/** For GET USER, MAILBOXES and META a missing user or mailbox is an empty answer (sync_response_parse). */
async function emptyIfNonexistent(reply: Promise<Reply>): Promise<Keyed[]> {
  try {
    return (await reply).items;
  } catch (err) {
    if (err instanceof SyncProtocolError && err.code === 'IMAP_MAILBOX_NONEXISTENT') return [];
    throw err;
  }
}

async function itemsOf(reply: Promise<Reply>): Promise<Keyed[]> {
  return (await reply).items;
}

async function done(reply: Promise<Reply>): Promise<void> {
  await reply;
}

export class ReplicaClient {
  constructor(readonly connection: SyncConnection) {}

  private get(item: Keyed): Promise<Reply> {
    return this.connection.send('GET', item);
  }

  private apply(item: Keyed): Promise<Reply> {
    return this.connection.send('APPLY', item);
  }

  // --- GET ---------------------------------------------------------------
  getUser(userid: string): Promise<Keyed[]> {
    return emptyIfNonexistent(this.get(keyed('USER', atom(userid))));
  }
  getMailboxes(names: readonly string[]): Promise<Keyed[]> {
    return emptyIfNonexistent(this.get(list('MAILBOXES', names)));
  }
  getUniqueIds(uniqueids: readonly string[]): Promise<Keyed[]> {
    return emptyIfNonexistent(this.get(list('UNIQUEIDS', uniqueids)));
  }
  getFullMailbox(name: string): Promise<Keyed[]> {
    return itemsOf(this.get(keyed('FULLMAILBOX', atom(name))));
  }
  getMeta(userid: string): Promise<Keyed[]> {
    return emptyIfNonexistent(this.get(keyed('META', atom(userid))));
  }
  getQuota(root: string): Promise<Keyed[]> {
    return itemsOf(this.get(keyed('QUOTA', atom(root))));
  }
  /** Mailbox-level annotations; the name is a pattern, "" means server annotations. */
  getAnnotation(mboxname: string): Promise<Keyed[]> {
    return itemsOf(this.get(keyed('ANNOTATION', atom(mboxname))));
  }
  fetchMessage(f: { mboxname: string; partition: string; uniqueid: string; guid: string; uid: number }): Promise<Keyed[]> {
    return itemsOf(this.get(kvlist('FETCH', { MBOXNAME: f.mboxname, PARTITION: f.partition, UNIQUEID: f.uniqueid, GUID: f.guid, UID: f.uid })));
  }
  fetchSieve(userid: string, filename: string): Promise<Keyed[]> {
    return itemsOf(this.get(kvlist('FETCH_SIEVE', { USERID: userid, FILENAME: filename })));
  }

  // --- APPLY -------------------------------------------------------------
  /** Returns the GUIDs the replica could not find (the MISSING list). */
  async applyReserve(partition: string, mailboxes: readonly string[], guids: readonly string[]): Promise<string[]> {
    const items = await itemsOf(this.apply(kvlist('RESERVE', { PARTITION: partition, MBOXNAME: [...mailboxes], GUID: [...guids] })));
    const missing: string[] = [];
    for (const item of items) {
      if (item.name !== 'MISSING') continue;
      for (const g of item.value.asList() ?? []) {
        const text = g.asString();
        if (text) missing.push(text.toLowerCase());
      }
    }
    return missing;
  }
  applyMessage(files: readonly DFile[]): Promise<void> {
    return done(this.apply(list('MESSAGE', files)));
  }
  applyMailbox(mailbox: DKvList, local = false): Promise<void> {
    return done(this.apply(keyed(local ? 'LOCAL_MAILBOX' : 'MAILBOX', mailbox)));
  }
  /** NONEXISTENT counts as done, as in stock. */
  async applyUnmailbox(name: string, local = false): Promise<void> {
    try {
      await this.apply(keyed(local ? 'LOCAL_UNMAILBOX' : 'UNMAILBOX', atom(name)));
    } catch (err) {
      if (!(err instanceof SyncProtocolError && err.code === 'IMAP_MAILBOX_NONEXISTENT')) throw err;
    }
  }
  applyRename(r: { oldName: string; newName: string; partition: string; uidvalidity?: number }, local = false): Promise<void> {
    return done(this.apply(kvlist(local ? 'LOCAL_RENAME' : 'RENAME', {
      OLDMBOXNAME: r.oldName, NEWMBOXNAME: r.newName, PARTITION: r.partition, UIDVALIDITY: r.uidvalidity,
    })));
  }
  applyQuota(fields: Fields): Promise<void> {
    return done(this.apply(kvlist('QUOTA', fields)));
  }
  applyUnquota(root: string): Promise<void> {
    return done(this.apply(keyed('UNQUOTA', atom(root))));
  }
  applyAnnotation(a: { mboxname: string; entry: string; userid: string; value: Keyed['value'] | string }): Promise<void> {
    return done(this.apply(kvlist('ANNOTATION', { MBOXNAME: a.mboxname, ENTRY: a.entry, USERID: a.userid, VALUE: a.value })));
  }
  applyUnannotation(a: { mboxname: string; entry: string; userid: string }): Promise<void> {
    return done(this.apply(kvlist('UNANNOTATION', { MBOXNAME: a.mboxname, ENTRY: a.entry, USERID: a.userid })));
  }
  applySeen(s: { userid: string; uniqueid: string; lastread: number; lastuid: number; lastchange: number; seenuids: string }): Promise<void> {
    return done(this.apply(kvlist('SEEN', {
      USERID: s.userid, UNIQUEID: s.uniqueid, LASTREAD: s.lastread, LASTUID: s.lastuid, LASTCHANGE: s.lastchange, SEENUIDS: s.seenuids,
    })));
  }
  applySub(userid: string, mboxname: string): Promise<void> {
    return done(this.apply(kvlist('SUB', { USERID: userid, MBOXNAME: mboxname })));
  }
  applyUnsub(userid: string, mboxname: string): Promise<void> {
    return done(this.apply(kvlist('UNSUB', { USERID: userid, MBOXNAME: mboxname })));
  }
  applySieve(s: { userid: string; filename: string; lastUpdate: number; content: Buffer }): Promise<void> {
    return done(this.apply(kvlist('SIEVE', { USERID: s.userid, FILENAME: s.filename, LAST_UPDATE: s.lastUpdate, CONTENT: bytes(s.content) })));
  }
  applyUnsieve(userid: string, filename: string): Promise<void> {
    return done(this.apply(kvlist('UNSIEVE', { USERID: userid, FILENAME: filename })));
  }
  /** `filename` is the bytecode name, `<script>.bc`, as the replica expects. */
  applyActivateSieve(userid: string, filename: string): Promise<void> {
    return done(this.apply(kvlist('ACTIVATE_SIEVE', { USERID: userid, FILENAME: filename })));
  }
  applyUnactivateSieve(userid: string): Promise<void> {
    return done(this.apply(kvlist('UNACTIVATE_SIEVE', { USERID: userid })));
  }
  /** NONEXISTENT counts as done, as in stock. */
  async applyUnuser(userid: string, local = false): Promise<void> {
    try {
      await this.apply(keyed(local ? 'LOCAL_UNUSER' : 'UNUSER', atom(userid)));
    } catch (err) {
      if (!(err instanceof SyncProtocolError && err.code === 'IMAP_MAILBOX_NONEXISTENT')) throw err;
    }
  }
  applyExpunge(e: { mboxname: string; uniqueid: string; uids: readonly number[] }): Promise<void> {
    return done(this.apply(kvlist('EXPUNGE', { MBOXNAME: e.mboxname, UNIQUEID: e.uniqueid, UID: e.uids.map((u) => num(u)) })));
  }
  /** Returns the capabilities the replica enabled. */
  async applyCapabilities(capabilities: readonly string[]): Promise<string[]> {
    const items = await itemsOf(this.apply(list('CAPABILITIES', capabilities)));
    const enabled = items.find((i) => i.name === 'ENABLED');
    return (enabled?.value.asList() ?? []).map((n) => n.asString() ?? '').filter(Boolean);
  }
  /** -O: the replica accepts the master's state even where it looks older. */
  applyForce(): Promise<void> {
    return done(this.apply(kvlist('FORCE', {})));
  }

  // --- session -----------------------------------------------------------
  restart(): Promise<void> {
    return done(this.connection.send('RESTART'));
  }
  noop(): Promise<void> {
    return done(this.connection.send('NOOP'));
  }
}
