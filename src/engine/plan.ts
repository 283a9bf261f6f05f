/**
 * Turns a batch of sync-log lines into ordered work, as stock's
 * sync_do_reader does (sync-protocol.md §2.4): collect with de-duplication,
 * prune (USER supersedes META, SEEN and SUB; UNUSER supersedes those and
 * USER; META supersedes SEEN and SUB), then run in the fixed order mailbox
 * groups, quota, annotation, seen, sub, unmailbox, meta, user, unuser.
 * Pure; the executor promotes failed items to META or USER.
 */
import { type SyncLogLine, mailboxKey, ParsedLineRouter } from '../synclog/index.js';

export interface WorkPlan {
  /** Per owner key, mailbox names (binary strings) in first-seen order. */
  mailboxGroups: Map<string, string[]>;
  quotas: string[];
  annotations: string[];
  seen: Array<{ userid: string; uniqueid: string }>;
  subs: Array<{ userid: string; mailbox: string }>;
  unmailboxes: string[];
  metas: string[];
  users: string[];
  unusers: string[];
}

class OrderedSet<T> {
  private readonly keys = new Set<string>();
  readonly items: T[] = [];
  constructor(private readonly keyOf: (t: T) => string) {}
  add(t: T): void {
    const k = this.keyOf(t);
    if (this.keys.has(k)) return;
    this.keys.add(k);
    this.items.push(t);
  }
}

export function planBatch(lines: readonly SyncLogLine[], route: ParsedLineRouter = new ParsedLineRouter()): WorkPlan {
  const groups = new Map<string, OrderedSet<string>>();
  const addToGroup = (key: string, name: string) => {
    let g = groups.get(key);
    if (!g) groups.set(key, (g = new OrderedSet((x) => x)));
    g.add(name);
  };
  const quotas = new OrderedSet<string>((x) => x);
  const annotations = new OrderedSet<string>((x) => x);
  const seen = new OrderedSet<{ userid: string; uniqueid: string }>((x) => `${x.userid}\0${x.uniqueid}`);
  const subs = new OrderedSet<{ userid: string; mailbox: string }>((x) => `${x.userid}\0${x.mailbox}`);
  const unmailboxes = new OrderedSet<string>((x) => x);
  const metas = new OrderedSet<string>((x) => x);
  const users = new OrderedSet<string>((x) => x);
  const unusers = new OrderedSet<string>((x) => x);

  for (const line of lines) {
    const [a = '', b = ''] = line.args;
    switch (line.type) {
      case 'APPEND':
      case 'MAILBOX':
        addToGroup(mailboxKey(a, route), a);
        break;
      case 'DOUBLEMAILBOX':
        // As stock: the second name joins the first name's group.
        addToGroup(mailboxKey(a, route), a);
        addToGroup(mailboxKey(a, route), b);
        break;
      case 'RENAME': {
        const ka = mailboxKey(a, route);
        const kb = mailboxKey(b, route);
        addToGroup(ka, a);
        addToGroup(ka, b);
        if (kb !== ka) {
          addToGroup(kb, a);
          addToGroup(kb, b);
        }
        break;
      }
      case 'UNMAILBOX':
        unmailboxes.add(a);
        break;
      case 'USER':
        users.add(a);
        break;
      case 'UNUSER':
        unusers.add(a);
        break;
      case 'META':
      case 'SIEVE':
        metas.add(a);
        break;
      case 'QUOTA':
        quotas.add(a);
        break;
      case 'ANNOTATION':
        annotations.add(a);
        break;
      case 'SEEN':
        seen.add({ userid: a, uniqueid: b });
        break;
      case 'SUB':
      case 'UNSUB':
        subs.add({ userid: a, mailbox: b });
        break;
    }
  }

  const userSet = new Set(users.items);
  const unuserSet = new Set(unusers.items);
  const metaSet = new Set(metas.items);
  const superseded = (u: string) => userSet.has(u) || unuserSet.has(u) || metaSet.has(u);
  return {
    mailboxGroups: new Map([...groups].map(([k, g]) => [k, g.items])),
    quotas: quotas.items,
    annotations: annotations.items,
    seen: seen.items.filter((x) => !superseded(x.userid)),
    subs: subs.items.filter((x) => !superseded(x.userid)),
    unmailboxes: unmailboxes.items,
    metas: metas.items.filter((u) => !userSet.has(u) && !unuserSet.has(u)),
    users: users.items.filter((u) => !unuserSet.has(u)),
    unusers: unusers.items,
  };
}
