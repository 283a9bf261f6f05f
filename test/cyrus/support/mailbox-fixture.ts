/**
 * Real Cyrus mailboxes without a running server: the mailboxes.db entry via
 * ctl_mboxlist -u, message files written into the spool, then `reconstruct -f`
 * builds cyrus.header / cyrus.index / cyrus.cache / cyrus.annotations exactly
 * as Cyrus 3.6.1 does (v17 index, GUIDs, CRCs).
 */
import { loadConfig, type CyrusConfig } from '../../../src/cyrus/config.js';
import { mailboxDataDir, mailboxMetaFile, type MailboxLocation } from '../../../src/cyrus/paths.js';
import { message, type CyrusEnv } from './cyrus-env.js';
import { mboxlistSync } from '../../support/read-db-sync.js';

export interface FixtureMailbox {
  name: string;
  uniqueid: string;
  mbtype?: string;
  /** Message bodies (default: `count` generated ones). */
  messages?: string[];
  count?: number;
  acl?: Record<string, string>;
}

export function createMailboxes(env: CyrusEnv, boxes: readonly FixtureMailbox[]): { cfg: CyrusConfig; locations: Map<string, MailboxLocation> } {
  env.undump(
    Object.fromEntries(
      boxes.map((b) => [
        b.name,
        { uniqueid: b.uniqueid, mbtype: b.mbtype ?? 'e', partition: 'default', uidvalidity: '1700000000', createdmodseq: '1', foldermodseq: '1', acl: b.acl ?? { [b.name.split('.')[1] ?? 'x']: 'lrswipkxtecdan' } },
      ]),
    ),
  );
  const cfg = loadConfig(env.conf);
  const ml = mboxlistSync(cfg);
  const locations = new Map<string, MailboxLocation>();
  for (const b of boxes) {
    const e = ml.lookup(b.name);
    if (!e?.partition) throw new Error(`fixture ${b.name} not in mailboxes.db`);
    const loc: MailboxLocation = { name: b.name, uniqueid: e.uniqueid, partition: e.partition, legacyDirs: e.mbtype.legacyDirs };
    locations.set(b.name, loc);
    const msgs = b.messages ?? Array.from({ length: b.count ?? 3 }, (_, i) => message(i + 1, 'x'.repeat(i * 10)));
    env.writeMessages(mailboxDataDir(cfg, loc), msgs);
    env.must('reconstruct', ['-f', b.name]);
  }
  return { cfg, locations };
}

export const metaOf = (cfg: CyrusConfig, loc: MailboxLocation, file: 'header' | 'index' | 'annotations'): string => mailboxMetaFile(cfg, loc, file);
