/**
 * Internal ↔ external mailbox names for the harness's namespace
 * (altnamespace + unixhierarchysep, as lab-config writes them), so the
 * tests can ask IMAP and the Cyrus tools about what the reader names
 * internally. Components keep their mUTF-7; only separators and the
 * `^` (a literal dot) differ.
 */

const decode = (parts: string[]): string => parts.map((p) => p.replace(/\^/g, '.')).join('/');

function splitDomain(intname: string): { domain: string | null; rest: string } {
  const bang = intname.indexOf('!');
  return bang < 0 ? { domain: null, rest: intname } : { domain: intname.slice(0, bang), rest: intname.slice(bang + 1) };
}

/** What an admin (and the command-line tools: mbexamine, unexpunge, mbpath) calls it: `user/alice/Sent[@domain]`. */
export function adminName(intname: string): string {
  const { domain, rest } = splitDomain(intname);
  const ext = decode(rest.split('.'));
  return domain ? `${ext}@${domain}` : ext;
}

/** Back from the admin form, as the `quota` tool prints roots. */
export function fromAdminName(ext: string): string {
  const at = ext.lastIndexOf('@');
  const [path, domain] = at < 0 ? [ext, null] : [ext.slice(0, at), ext.slice(at + 1)];
  const int = path.split('/').map((p) => p.replace(/\./g, '^')).join('.');
  return domain ? `${domain}!${int}` : int;
}

/** A mailbox in `owner`'s personal namespace (`INBOX`, `Sent`, `Reports/2024`), or null if it is not theirs. */
export function ownerName(intname: string, owner: string): string | null {
  const at = owner.lastIndexOf('@');
  const local = at < 0 ? owner : owner.slice(0, at);
  const inbox = `${at < 0 ? '' : `${owner.slice(at + 1)}!`}user.${local.replace(/\./g, '^')}`;
  if (intname === inbox) return 'INBOX';
  if (!intname.startsWith(`${inbox}.`)) return null;
  return decode(intname.slice(inbox.length + 1).split('.'));
}

/** A name as `me` sees it in LIST/LSUB (personal, "Other Users/…", "Shared Folders/…") → internal. */
export function fromUserName(ext: string, me: string): string {
  const at = me.lastIndexOf('@');
  const domain = at < 0 ? '' : `${me.slice(at + 1)}!`;
  const local = at < 0 ? me : me.slice(0, at);
  const enc = (parts: string[]): string => parts.map((p) => p.replace(/\./g, '^')).join('.');
  const parts = ext.split('/');
  if (ext === 'INBOX') return `${domain}user.${enc([local])}`;
  if (parts[0] === 'Other Users') return `${domain}user.${enc(parts.slice(1))}`;
  if (parts[0] === 'Shared Folders') return `${domain}${enc(parts.slice(1))}`;
  return `${domain}user.${enc([local, ...parts])}`;
}

/**
 * How `viewer` names a mailbox: personal, "Other Users/<owner>/…" or
 * "Shared Folders/…"; null for another domain's mailbox, which it cannot see.
 */
export function viewerName(intname: string, viewer: string): string | null {
  const own = ownerName(intname, viewer);
  if (own !== null) return own;
  const at = viewer.lastIndexOf('@');
  const { domain, rest } = splitDomain(intname);
  if (domain !== (at < 0 ? null : viewer.slice(at + 1))) return null;
  const parts = rest.split('.');
  return parts[0] === 'user' ? `Other Users/${decode(parts.slice(1))}` : `Shared Folders/${decode(parts)}`;
}
