// What newer replicas say (3.10 quota names, 3.12 USERFLAGS/USERGROUPS, keys
// nobody knows yet) is read without failing. Pure: DLIST text built from the
// layouts of sync_support.c at cyrus-imapd-3.10.1 and 3.12.3.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { QuotaEntry } from '../../src/cyrus/quota.js';
import { parseItem } from '../../src/dlist/index.js';
import { quotaDiffers, quotaFields, replicaQuotaLimits } from '../../src/engine/quota-dlist.js';
import { decodeReplicaMailbox, replicaUserFlags } from '../../src/engine/replica-mailbox.js';

const local: QuotaEntry = {
  root: 'user.tom',
  used: { STORAGE: 0n, MESSAGE: 0n, 'X-ANNOTATION-STORAGE': 0n, 'X-NUM-FOLDERS': 0n },
  limits: { STORAGE: 1000n, MESSAGE: null, 'X-ANNOTATION-STORAGE': 20n, 'X-NUM-FOLDERS': 5n },
  modseq: 9n,
};

test('quota: a 3.6 replica (legacy names), a 3.10 one (both) and an RFC 9208-only one agree', () => {
  const v36 = parseItem('QUOTA %(ROOT user.tom LIMIT 1000 STORAGE 1000 X-ANNOTATION-STORAGE 20 X-NUM-FOLDERS 5 MODSEQ 9)');
  // sync_encode_quota_limits @3.10.1: quota_names[] then dlist_updatenum32 of legacy_quota_names[].
  const v310 = parseItem('QUOTA %(ROOT user.tom LIMIT 1000 STORAGE 1000 ANNOTATION-STORAGE 20 X-ANNOTATION-STORAGE 20 MAILBOX 5 X-NUM-FOLDERS 5 MODSEQ 9)');
  const rfc = parseItem('QUOTA %(ROOT user.tom LIMIT 1000 STORAGE 1000 ANNOTATION-STORAGE 20 MAILBOX 5 MODSEQ 9 SOMETHING-NEW 1)');
  for (const [what, item] of [['3.6', v36], ['3.10', v310], ['9208', rfc]] as const) {
    const limits = replicaQuotaLimits(item.value);
    assert.equal(limits, { STORAGE: 1000n, MESSAGE: null, 'X-ANNOTATION-STORAGE': 20n, 'X-NUM-FOLDERS': 5n }, what);
    assert.not.ok(quotaDiffers(local, limits), what);
  }
  assert.ok(quotaDiffers(local, replicaQuotaLimits(parseItem('QUOTA %(ROOT user.tom STORAGE 1000 MAILBOX 6)').value)));
  // What we send stays stock 3.6.1's: legacy names, which 3.10 and 3.12 still decode.
  assert.equal(quotaFields(local).map(([k]) => k), ['ROOT', 'LIMIT', 'STORAGE', 'X-ANNOTATION-STORAGE', 'X-NUM-FOLDERS', 'MODSEQ']);
});

test('a 3.12 MAILBOX with USERFLAGS, USERGROUPS and unknown keys decodes like a 3.6 one', () => {
  const base =
    'MAILBOX %(UNIQUEID 5p24xid7j7rye9n2j15ehrta MBOXNAME user.tom SYNC_CRC 933678507 SYNC_CRC_ANNOT 1687501760 LAST_UID 1 HIGHESTMODSEQ 4 ' +
    'RECENTUID 0 RECENTTIME 0 LAST_APPENDDATE 1795625209 POP3_LAST_LOGIN 0 POP3_SHOW_AFTER 0 UIDVALIDITY 1795625209 PARTITION default ' +
    'ACL "tom\tlrswipkxtecdan\t" OPTIONS P CREATEDMODSEQ 1 FOLDERMODSEQ 2';
  const v36 = parseItem(`${base})`);
  // sync_prepare_dlists @3.12.3: USERGROUPS after RACLMODSEQ (TAB-joined, so quoted), USERFLAGS after the annotations.
  const v312 = parseItem(`${base} USERGROUPS "group:a\tgroup:b" ANNOTATIONS () USERFLAGS ($Junk Custom1 $Forwarded) FUTURE_KEY %(A (1 2) B "x") FUTURE_FLAG \\Flag)`);
  assert.equal(decodeReplicaMailbox(v312.value), decodeReplicaMailbox(v36.value));
  assert.equal(replicaUserFlags(v312.value), ['$Junk', 'Custom1', '$Forwarded']);
  assert.is(replicaUserFlags(v36.value), null);
  assert.equal(replicaUserFlags(parseItem(`${base} USERFLAGS ())`).value), []);
});

test.run();
