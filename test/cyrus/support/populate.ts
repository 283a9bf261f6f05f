/**
 * Fills a harness master with the state the master-state reader must get
 * right, through Cyrus's own front doors only (LMTP, IMAP, ManageSieve):
 * users, spaces / non-ASCII / dotted / nested names (with an intermediate),
 * a rename, delayed deletes of a folder and of a whole user, system flags and
 * keywords, delayed expunges, seen state by the owner and by another user,
 * subscriptions, quota roots, /private and /shared metadata, ACLs, message
 * annotations, a shared (non-user) mailbox and a sieve script.
 */
import { ADMIN, type CyrusLab } from '../../../lab/cyrus-lab.js';
import { quote } from '../../../lab/imap-tokens.js';
import { appendTo, createUser, deliver, imap, withImap } from '../../../lab/lab-ops.js';
import { ManageSieve } from './managesieve.js';

/** RFC 3501 modified UTF-7, the form Cyrus 3.6 keeps in internal names too. */
export function mutf7(s: string): string {
  return s.replace(/&/g, '&-').replace(/[^\x20-\x7e]+/g, (run) => {
    const b64 = Buffer.from(run, 'utf16le').swap16().toString('base64').replace(/=+$/, '').replace(/\//g, ',');
    return `&${b64}-`;
  });
}

export const UMLAUT = mutf7('Über Café');
export const KANJI = mutf7('日本語');

/** Users whose trees the tests replicate and compare; `dave` is deleted (delayed) during population. */
export const USERS = ['alice', 'bob', 'carol'] as const;
export const SHARED_MAILBOX = 'Public Board';

export interface Population {
  /** Internal names the tests expect to find live in mailboxes.db. */
  live: string[];
  /** Internal names that must be tombstones (their DELETED.* copies are live). */
  tombstones: string[];
  intermediates: string[];
}

export async function populate(lab: CyrusLab): Promise<Population> {
  const aliceFolders = ['Drafts', 'Sent', 'Trash', 'Work Projects', UMLAUT, `${KANJI}/Notes`, 'Reports/2024', 'v1.2', 'OldName', 'ToDelete', 'Shared Stuff'];
  await createUser(lab, 'alice', aliceFolders);
  await createUser(lab, 'bob', ['Sent']);
  await createUser(lab, 'carol', ['Archive']);
  await createUser(lab, 'dave', []);
  // 3.6.1's IMAP never leaves an `i` entry: missing parents are filled in as real
  // mailboxes, creating a child promotes an intermediate parent, and the one writer
  // (deleting a parent that has children) is refused with HASCHILDREN. So the parent
  // is turned into one with Cyrus's own ctl_mboxlist -u, as mboxlist_deletemailbox
  // would (same uniqueid, no ACL); its now orphaned files are left alone.
  await imap(lab.master, 'carol', 'CREATE "Projects/Q1"', 'SUBSCRIBE "Projects/Q1"');
  const dump = JSON.parse(lab.tool(lab.master, 'ctl_mboxlist', ['-d']).stdout) as Record<string, Record<string, unknown>>;
  const parent = { ...dump['user.carol.Projects'], mbtype: 'ei', acl: {} };
  lab.tool(lab.master, 'ctl_mboxlist', ['-u'], { input: JSON.stringify({ 'user.carol.Projects': parent }) });

  await deliver(lab, 'alice', 6);
  await deliver(lab, 'bob', 3, { start: 10 });
  await deliver(lab, 'carol', 2, { start: 20 });
  await deliver(lab, 'dave', 1, { start: 30 });
  await appendTo(lab, 'alice', 'Work Projects', 3, '\\Seen');
  await appendTo(lab, 'alice', UMLAUT, 2, '\\Flagged');
  await appendTo(lab, 'alice', 'Reports/2024', 2);
  await appendTo(lab, 'alice', 'OldName', 2);
  await appendTo(lab, 'alice', 'ToDelete', 2);
  await appendTo(lab, 'alice', 'Shared Stuff', 4);
  await appendTo(lab, 'carol', 'Archive', 2, '$Archived');

  await withImap(lab.master, 'alice', async (c) => {
    await c.command('SELECT INBOX');
    await c.command('UID STORE 1 +FLAGS (\\Flagged $Work)');
    await c.command('UID STORE 2 +FLAGS (\\Answered \\Seen)');
    await c.command('UID STORE 3 +FLAGS (\\Draft custom_kw)');
    // A keyword set then cleared: its slot stays in cyrus.header, no record has it.
    await c.command('UID STORE 5 +FLAGS ($Label1)');
    await c.command('UID STORE 5 -FLAGS ($Label1)');
    await c.command('UID STORE 4,6 +FLAGS (\\Deleted)');
    await c.command('UID EXPUNGE 4'); // expunge_mode delayed: record stays, EXPUNGED
    // Message annotations (cyrus.annotations): shared and owner-private.
    await c.command('UID STORE 1 ANNOTATION (/comment (value.shared "shared note" value.priv "private note"))');
    await c.command('UID STORE 2 ANNOTATION (/altsubject (value.shared "alt"))');
    await c.command('SELECT "Work Projects"');
    await c.command('UID STORE 1 -FLAGS (\\Seen)');
    await c.command('UID STORE 2 +FLAGS (\\Deleted)');
    await c.command('EXPUNGE');
    await c.command('RENAME "OldName" "NewName"');
    await c.command('DELETE "ToDelete"'); // delete_mode delayed: DELETED.user.alice.ToDelete.<hex>
    await c.command('SETMETADATA INBOX (/private/comment "mine" /shared/comment "for everyone")');
    await c.command('SETMETADATA "Sent" (/private/specialuse "\\\\Sent")'); // owner-private: stored as [.OwNeR.]
    await c.command(`SETMETADATA ${quote(UMLAUT)} (/shared/comment "Ünïcode ✓")`);
    await c.command('SETACL "Shared Stuff" bob lrsw');
    await c.command('SETACL INBOX carol lr');
    await c.command('SETACL "Work Projects" -bob w');
    await c.command('UNSUBSCRIBE "Trash"');
  });

  // bob reads alice's shared folder: non-owner seen state lands in bob's seen.db.
  await withImap(lab.master, 'bob', async (c) => {
    const shared = '"Other Users/alice/Shared Stuff"';
    await c.command(`SELECT ${shared}`);
    await c.command('UID STORE 1:2,4 +FLAGS (\\Seen)');
    await c.command(`SUBSCRIBE ${shared}`);
    await c.command(`SETMETADATA ${shared} (/private/comment "bob was here")`);
    await c.command('SELECT INBOX');
    await c.command('UID STORE 1 +FLAGS (\\Seen $Important)');
  });

  await imap(
    lab.master,
    null,
    'SETQUOTA "user/alice" (STORAGE 100000 MESSAGE 1000)',
    'SETQUOTA "user/alice/Work Projects" (STORAGE 2000)',
    'SETQUOTA "user/carol" (STORAGE 50000)',
    `CREATE ${quote(SHARED_MAILBOX)}`,
    `SETACL ${quote(SHARED_MAILBOX)} anyone lrs`,
    `SETACL ${quote(SHARED_MAILBOX)} admin lrswipkxtecdan`,
    // No SETMETADATA on a non-user mailbox: Debian's 3.6.1 imapd drops the connection on it.
    // Deleting a user needs the 'x' right even for an admin.
    'SETACL "user/dave" admin lrswipkxtecdan',
    'DELETE "user/dave"',
  );
  await withImap(lab.master, null, async (c) => {
    for (let i = 0; i < 2; i++) await c.append(quote(SHARED_MAILBOX), Buffer.from(`Subject: notice ${i}\r\n\r\nbody ${i}\r\n`));
  });

  // Sieve: scripts become messages of user.alice.#sieve; replacing one expunges the old message.
  const sieve = await ManageSieve.login(lab.master.ports.sieve ?? 0, ADMIN.user, ADMIN.password, 'alice');
  try {
    await sieve.putScript('main', 'require ["fileinto"];\r\nif header :contains "subject" "report" { fileinto "Reports"; }\r\n');
    await sieve.putScript('vacation', 'keep;\r\n');
    await sieve.setActive('main');
    await sieve.putScript('main', 'require ["fileinto"];\r\nif header :contains "subject" "reports" { fileinto "Reports"; }\r\n');
  } finally {
    await sieve.logout();
  }

  const a = 'user.alice';
  return {
    live: [a, `${a}.Drafts`, `${a}.Sent`, `${a}.${UMLAUT}`, `${a}.${KANJI}`, `${a}.${KANJI}.Notes`, `${a}.Reports`, `${a}.Reports.2024`, `${a}.v1^2`, `${a}.NewName`, `${a}.Shared Stuff`, `${a}.#sieve`, 'user.bob', 'user.carol.Archive', 'user.carol.Projects.Q1', SHARED_MAILBOX],
    tombstones: [`${a}.OldName`, `${a}.ToDelete`, 'user.dave'],
    intermediates: ['user.carol.Projects'],
  };
}
