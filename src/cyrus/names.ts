/**
 * Cyrus internal mailbox names (imap/mboxname.c mbname_*), and the
 * mailboxes.db "dbname" form (imap/mboxlist.c mbname_from_dbname/mbname_dbname).
 *
 * Internal: `[domain!][DELETED.]user.<lp>[.box…][.HEXTIME]`, `.` separates,
 * a literal dot inside a component is `^`. dbname: `[domain 0x1D]` then the
 * same components *decoded* (real dots) joined by 0x1F. Components are split
 * with strtok semantics (empty ones vanish), like Cyrus.
 */

export interface NameContext {
  /** deletedprefix (default DELETED). */
  readonly deletedPrefix: string;
  /** defaultdomain: a domain equal to it is dropped. */
  readonly defaultDomain: string | null;
}

export interface MbName {
  readonly domain: string | null;
  /** User part for `user.<lp>…` names (decoded: real dots). */
  readonly localpart: string | null;
  /** Remaining components, decoded (real dots). */
  readonly boxes: readonly string[];
  /** Unix time of a delayed delete (the trailing hex component), 0 if not deleted. */
  readonly isDeleted: number;
}

export const DB_DOMAINSEP = '\x1d';
export const DB_HIERSEP = '\x1f';

const decodeComponent = (s: string): string => s.replace(/\^/g, '.');
const encodeComponent = (s: string): string => s.replace(/\./g, '^');
const splitTok = (s: string, sep: string): string[] => s.split(sep).filter((x) => x !== '');

/** strtoul(s, NULL, 16), truncated to 32 bits as Cyrus prints it with %X of (unsigned). */
function hexTime(s: string): number {
  const m = /^\s*(?:0[xX])?([0-9a-fA-F]+)/.exec(s);
  return m ? Number(BigInt(`0x${m[1]}`) & 0xffffffffn) : 0;
}

function fromParts(domain: string | null, parts: string[], ctx: NameContext): MbName {
  let isDeleted = 0;
  if (parts.length > 2 && parts[0] === ctx.deletedPrefix) {
    parts.shift();
    isDeleted = hexTime(parts.pop() ?? '');
  }
  let localpart: string | null = null;
  if (parts.length > 1 && parts[0] === 'user') {
    parts.shift();
    localpart = parts.shift() ?? null;
  }
  return { domain: domain === ctx.defaultDomain ? null : domain, localpart, boxes: parts, isDeleted };
}

/** mbname_from_intname. */
export function parseIntName(intname: string, ctx: NameContext): MbName {
  let domain: string | null = null;
  let rest = intname;
  const bang = intname.indexOf('!');
  if (bang >= 0) {
    domain = intname.slice(0, bang);
    rest = intname.slice(bang + 1);
  }
  return fromParts(domain, splitTok(rest, '.').map(decodeComponent), ctx);
}

/** mbname_from_dbname (mailboxes.db key without its type byte). */
export function parseDbName(dbname: string, ctx: NameContext): MbName {
  let domain: string | null = null;
  let rest = dbname;
  const gs = dbname.indexOf(DB_DOMAINSEP);
  if (gs >= 0) {
    domain = dbname.slice(0, gs);
    rest = dbname.slice(gs + 1);
  }
  return fromParts(domain, splitTok(rest, DB_HIERSEP), ctx);
}

/** Components in path order: [DELETED] [user lp] boxes [HEX]. */
function components(mb: MbName, ctx: NameContext): string[] {
  const out: string[] = [];
  if (mb.isDeleted) out.push(ctx.deletedPrefix);
  if (mb.localpart !== null) out.push('user', mb.localpart);
  out.push(...mb.boxes);
  if (mb.isDeleted) out.push(mb.isDeleted.toString(16).toUpperCase());
  return out;
}

/** mbname_intname (for an MbName not built from an internal name). */
export function formatIntName(mb: MbName, ctx: NameContext): string {
  const name = components(mb, ctx)
    .map((c, i) => (mb.isDeleted && i === 0 ? c : encodeComponent(c)))
    .join('.');
  return mb.domain ? `${mb.domain}!${name}` : name;
}

/** mbname_dbname. */
export function formatDbName(mb: MbName, ctx: NameContext): string {
  const name = components(mb, ctx).join(DB_HIERSEP);
  return mb.domain ? `${mb.domain}${DB_DOMAINSEP}${name}` : name;
}

/** mboxname_to_dbname. */
export function intNameToDbName(intname: string, ctx: NameContext): string {
  return formatDbName(parseIntName(intname, ctx), ctx);
}

/** mboxname_from_dbname. */
export function dbNameToIntName(dbname: string, ctx: NameContext): string {
  return formatIntName(parseDbName(dbname, ctx), ctx);
}

/** mbname_userid: `lp[@domain]`, null if not a user mailbox. */
export function userIdOf(mb: MbName): string | null {
  if (mb.localpart === null) return null;
  return mb.domain ? `${mb.localpart}@${mb.domain}` : mb.localpart;
}

/** mboxname_to_userid. */
export function mailboxOwner(intname: string, ctx: NameContext): string | null {
  return userIdOf(parseIntName(intname, ctx));
}

/** mbname_from_userid: split at the last `@`, default domain dropped. */
export function parseUserId(userid: string, ctx: NameContext): MbName {
  const at = userid.lastIndexOf('@');
  if (at < 0) return { domain: null, localpart: userid, boxes: [], isDeleted: 0 };
  const domain = userid.slice(at + 1);
  return { domain: domain === ctx.defaultDomain ? null : domain, localpart: userid.slice(0, at), boxes: [], isDeleted: 0 };
}

/** mboxname_user_mbox(userid, NULL): the user's INBOX internal name. */
export function userInbox(userid: string, ctx: NameContext): string {
  return formatIntName(parseUserId(userid, ctx), ctx);
}

/** mboxname_isusermailbox(name, 1): a user's INBOX (not delayed-deleted). */
export function isUserInbox(intname: string, ctx: NameContext): boolean {
  const mb = parseIntName(intname, ctx);
  return mb.localpart !== null && !mb.isDeleted && mb.boxes.length === 0;
}

/** mboxname_isusermailbox(name, 0): a user's mailbox that is not delayed-deleted. */
export function isUserMailbox(intname: string, ctx: NameContext): boolean {
  const mb = parseIntName(intname, ctx);
  return mb.localpart !== null && !mb.isDeleted;
}
