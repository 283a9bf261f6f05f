import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import path from 'node:path';
import { buildConfig, loadConfig, RawConfig, type CyrusConfig } from '../../src/cyrus/config.js';
import { dbNameToIntName, intNameToDbName, isUserMailbox, mailboxOwner, parseIntName, userInbox } from '../../src/cyrus/names.js';
import {
  dirHash,
  lockFile,
  mailboxArchiveDir,
  mailboxDataDir,
  mailboxLockName,
  mailboxMetaFile,
  messageFile,
  quotaFile,
  syncLockName,
  userConfPath,
  userNamespaceLockName,
  userSieveDir,
  type MailboxLocation,
} from '../../src/cyrus/paths.js';
import { listQuotaRoots, readQuota } from '../../src/cyrus/quota.js';
import { skip } from '../support/skip.js';
import { CyrusEnv, cyrusUnavailable, message } from './support/cyrus-env.js';
import { mboxlistSync } from '../support/read-db-sync.js';

const ctx = { deletedPrefix: 'DELETED', defaultDomain: 'example.org' };

function cfgOf(lines: Record<string, string>): CyrusConfig {
  const raw = new RawConfig(Object.entries({ configdirectory: '/c', 'partition-default': '/p', ...lines }));
  return buildConfig(raw, '/x.conf', { hostname: 'h' });
}

test('internal names, dbnames and owners', () => {
  const cases: Array<[string, string, string | null]> = [
    ['user.tom', 'user\x1ftom', 'tom'],
    ['user.tom.Sent', 'user\x1ftom\x1fSent', 'tom'],
    ['user.jo^e.a^b', 'user\x1fjo.e\x1fa.b', 'jo.e'],
    ['example.com!user.tom.X', 'example.com\x1duser\x1ftom\x1fX', 'tom@example.com'],
    ['DELETED.user.tom.Old.6512A3F0', 'DELETED\x1fuser\x1ftom\x1fOld\x1f6512A3F0', 'tom'],
    ['example.com!DELETED.user.tom.6512A3F0', 'example.com\x1dDELETED\x1fuser\x1ftom\x1f6512A3F0', 'tom@example.com'],
    ['shared.folder', 'shared\x1ffolder', null],
    ['user', 'user', null],
  ];
  for (const [intname, dbname, owner] of cases) {
    assert.is(intNameToDbName(intname, ctx), dbname, intname);
    assert.is(dbNameToIntName(dbname, ctx), intname, intname);
    assert.is(mailboxOwner(intname, ctx), owner, intname);
  }
  // The default domain is dropped.
  assert.is(mailboxOwner('example.org!user.tom', ctx), 'tom');
  assert.is(userInbox('tom@example.org', ctx), 'user.tom');
  assert.is(userInbox('jo.e@ex.com', ctx), 'ex.com!user.jo^e');
  assert.is(userInbox('a@b@c.com', ctx), 'c.com!user.a@b');
  assert.equal(parseIntName('DELETED.user.tom.Old.6512A3F0', ctx), { domain: null, localpart: 'tom', boxes: ['Old'], isDeleted: 0x6512a3f0 });
  assert.is(isUserMailbox('DELETED.user.tom.Old.6512A3F0', ctx), false);
  assert.is(isUserMailbox('user.tom.Old', ctx), true);
});

test('dir_hash_c', () => {
  assert.equal(['tom', 'Tom', 'zed', '9lives', '', '*U*tom', '\u00e9'].map((s) => dirHash(s, false)), ['t', 't', 'z', 'q', 'q', 'q', 'q']);
  // Values observed from Cyrus (mbpath, quota files) with fulldirhash.
  assert.equal(['tom', 'example', 'example.com', 'jo.e', 'user', 'folder'].map((s) => dirHash(s, true)), ['R', 'O', 'O', 'A', 'C', 'T']);
});

test('paths: uuid and legacy layouts, meta partitions, archive, locks', () => {
  const c = cfgOf({
    hashimapspool: 'yes',
    'metapartition-default': '/meta',
    metapartition_files: 'header index',
    'metadir-cache-default': '/cachedir',
    'archivepartition-default': '/arch',
    archive_enabled: 'yes',
  });
  const uuid: MailboxLocation = { name: 'user.tom.Sent', uniqueid: 'af01aaaa-0000', partition: 'default', legacyDirs: false };
  const legacy: MailboxLocation = { ...uuid, legacyDirs: true };
  assert.is(mailboxDataDir(c, uuid), '/p/uuid/a/f/af01aaaa-0000');
  assert.is(mailboxDataDir(c, legacy), '/p/t/user/tom/Sent');
  assert.is(messageFile(c, uuid, 42), '/p/uuid/a/f/af01aaaa-0000/42.');
  assert.is(messageFile(c, uuid, 42, true), '/arch/uuid/a/f/af01aaaa-0000/42.');
  assert.is(mailboxArchiveDir(c, legacy), '/arch/t/user/tom/Sent');
  assert.is(mailboxMetaFile(c, uuid, 'header'), '/meta/uuid/a/f/af01aaaa-0000/cyrus.header');
  assert.is(mailboxMetaFile(c, uuid, 'index'), '/meta/uuid/a/f/af01aaaa-0000/cyrus.index');
  assert.is(mailboxMetaFile(c, uuid, 'cache'), '/cachedir/uuid/a/f/af01aaaa-0000/cyrus.cache');
  // annotations consult metadir-index-<part> (a Cyrus quirk) but not metapartition_files here.
  assert.is(mailboxMetaFile(c, uuid, 'annotations'), '/p/uuid/a/f/af01aaaa-0000/cyrus.annotations');
  assert.is(mailboxMetaFile(c, uuid, 'archivecache'), '/arch/uuid/a/f/af01aaaa-0000/cyrus.cache');
  assert.is(lockFile(c, mailboxLockName(uuid)), '/c/lock/a/af01aaaa-0000.lock');
  assert.is(lockFile(c, mailboxLockName(legacy)), '/c/lock/t/user/tom/Sent.lock');
  assert.is(lockFile(c, mailboxLockName({ ...uuid, uniqueid: '3f2a' })), '/c/lock/q/3f2a.lock');
  assert.is(lockFile(c, userNamespaceLockName('tom')), '/c/lock/q/*U*tom.lock');
  assert.is(lockFile(c, userNamespaceLockName('tom@example.com')), '/c/lock/q/*U*tom@example^com.lock');
  assert.is(syncLockName('replica.example.com', 'jo.e'), '*S*replica^example^com*jo^e');
  assert.is(mailboxDataDir(c, { ...legacy, name: 'DELETED.user.tom.Old.6512A3F0' }), '/p/u/DELETED/user/tom/Old/6512A3F0');
  assert.is(mailboxDataDir(c, { ...legacy, name: 'example.com!user.jo^e' }), '/p/domain/e/example.com/j/user/jo^e');
  assert.throws(() => mailboxDataDir(c, { ...uuid, partition: 'nope' }), /unknown partition/);
});

test('per-user conf, sieve and quota paths', () => {
  const c = cfgOf({ sievedir: '/sieve' });
  const inbox = { uniqueid: '3f2a9c1e-1111', legacyDirs: false };
  assert.is(userConfPath(c, 'tom', 'seen', inbox), '/c/user/uuid/3/f/3f2a9c1e-1111/seen.db');
  assert.is(userConfPath(c, 'tom', 'sub', { ...inbox, legacyDirs: true }), '/c/user/t/tom.sub');
  assert.is(userConfPath(c, 'jo.e@ex.com', 'seen', null), '/c/domain/e/ex.com/user/j/jo.e.seen');
  assert.is(userSieveDir(c, 'tom', inbox), '/sieve/uuid/3/f/3f2a9c1e-1111');
  assert.is(userSieveDir(c, 'tom', { ...inbox, legacyDirs: true }), '/sieve/t/tom');
  assert.is(userSieveDir(c, 'tom@ex.com', { ...inbox, legacyDirs: true }), '/sieve/t/tom@ex.com');
  assert.is(userSieveDir(cfgOf({ sievedir: '/sieve', virtdomains: 'on' }), 'tom@ex.com', { ...inbox, legacyDirs: true }), '/sieve/domain/e/ex.com/t/tom');
  assert.is(userSieveDir(c, 'tom', null), null);
  assert.is(userSieveDir(c, null, null), '/sieve/global');
  assert.is(quotaFile(c, 'user.tom'), '/c/quota/t/user.tom');
  assert.is(quotaFile(c, 'shared'), '/c/quota/s/shared');
  assert.is(quotaFile(cfgOf({ quota_db_path: '/q/quotas.db' }), 'user.tom'), '/q/quota/t/user.tom');
  const v = cfgOf({ virtdomains: 'userid' });
  assert.is(quotaFile(v, 'ex.com!user.tom'), '/c/domain/e/ex.com/quota/t/user.tom');
  assert.is(quotaFile(v, 'ex.com!'), '/c/domain/e/ex.com/quota/root');
});

const ORACLE_CONFIGS: Array<Record<string, string>> = [{}, { hashimapspool: 'yes' }, { hashimapspool: 'yes', fulldirhash: 'yes' }, { hashimapspool: 'yes', virtdomains: 'userid' }];

test('paths agree with mbpath', () => {
  const why = cyrusUnavailable();
  if (why) return skip('paths agree with mbpath', why);
  for (const extra of ORACLE_CONFIGS) {
    const env = CyrusEnv.create(extra);
    try {
      const common = { partition: 'default', uidvalidity: '1', createdmodseq: '1', foldermodseq: '1', acl: { tom: 'lrs' } };
      const boxes: Record<string, { uniqueid: string; mbtype: string }> = {
        'user.tom': { uniqueid: '3f2a9c1e-1111-2222-3333-444455556666', mbtype: 'e' },
        'user.tom.Sent^x': { uniqueid: 'af01aaaa-1111-2222-3333-444455556666', mbtype: 'el' },
        'user.legacy': { uniqueid: 'bf01aaaa-1111-2222-3333-444455556666', mbtype: 'el' },
        'user.legacy.Sub': { uniqueid: 'cf01aaaa-1111-2222-3333-444455556666', mbtype: 'el' },
        'DELETED.user.tom.Old.6512A3F0': { uniqueid: 'df01aaaa-1111-2222-3333-444455556666', mbtype: 'el' },
        'shared.folder': { uniqueid: 'ef01aaaa-1111-2222-3333-444455556666', mbtype: 'el' },
        'shared.uuid': { uniqueid: '0f01aaaa-1111-2222-3333-444455556666', mbtype: 'e' },
        'example.com!user.jo^e': { uniqueid: '1f01aaaa-1111-2222-3333-444455556666', mbtype: 'el' },
      };
      env.undump(Object.fromEntries(Object.entries(boxes).map(([k, v]) => [k, { ...common, ...v }])));
      const cfg = loadConfig(env.conf);
      const ml = mboxlistSync(cfg);
      for (const name of Object.keys(boxes)) {
        const oracle = JSON.parse(env.must('mbpath', ['-j', name]).toString()) as { data: string; meta: string; archive: string; user?: Record<string, string> };
        const e = ml.lookup(name);
        assert.ok(e, name);
        if (!e) continue;
        const loc: MailboxLocation = { name, uniqueid: e.uniqueid, partition: e.partition ?? '', legacyDirs: e.mbtype.legacyDirs };
        const where = `${name} ${JSON.stringify(extra)}`;
        assert.is(mailboxDataDir(cfg, loc), oracle.data, where);
        assert.is(mailboxArchiveDir(cfg, loc), oracle.archive, where);
        assert.is(path.dirname(mailboxMetaFile(cfg, loc, 'header')), oracle.meta, where);
        const owner = mailboxOwner(name, cfg);
        if (oracle.user && owner) {
          const inbox = ml.confInbox(owner);
          const ref = inbox ? { uniqueid: inbox.uniqueid, legacyDirs: inbox.mbtype.legacyDirs } : null;
          for (const suffix of ['seen', 'sub', 'counters', 'conversations', 'dav', 'xapianactive']) {
            assert.is(userConfPath(cfg, owner, suffix, ref), oracle.user[suffix], `${where} ${suffix}`);
          }
          const live = ml.find(userInbox(owner, cfg));
          assert.is(userSieveDir(cfg, owner, live ? { uniqueid: live.uniqueid, legacyDirs: live.mbtype.legacyDirs } : null) ?? '', oracle.user.sieve, `${where} sieve`);
        }
      }
    } finally {
      env.cleanup();
    }
  }
});

test('lock and quota files land where Cyrus puts them', () => {
  const why = cyrusUnavailable();
  if (why) return skip('lock and quota files land where Cyrus puts them', why);
  const env = CyrusEnv.create({ hashimapspool: 'yes', virtdomains: 'userid' });
  try {
    const common = { partition: 'default', uidvalidity: '1', createdmodseq: '1', foldermodseq: '1', acl: { tom: 'lrs' } };
    env.undump({
      'user.tom': { ...common, uniqueid: '3f2a9c1e-1111-2222-3333-444455556666', mbtype: 'e' },
      'user.tom.Legacy': { ...common, uniqueid: 'af01aaaa-1111-2222-3333-444455556666', mbtype: 'el' },
    });
    const cfg = loadConfig(env.conf);
    const ml = mboxlistSync(cfg);
    for (const name of ['user.tom', 'user.tom.Legacy']) {
      const e = ml.lookup(name);
      if (!e?.partition) throw new Error(name);
      const loc = { name, uniqueid: e.uniqueid, partition: e.partition, legacyDirs: e.mbtype.legacyDirs };
      env.writeMessages(mailboxDataDir(cfg, loc), [message(1)]);
      env.must('reconstruct', ['-f', name]);
      assert.ok(fs.existsSync(lockFile(cfg, mailboxLockName(loc))), `namelock of ${name}`);
    }
    assert.ok(fs.existsSync(lockFile(cfg, userNamespaceLockName('tom'))), 'namespace lock');

    const quotas = path.join(env.configDir, 'quotas.db');
    env.must('cyr_dbtool', [quotas, 'quotalegacy', 'set', 'user.tom', '%(S (10 100) M (1 5) AS (0) NF (2 10) MODSEQ 7)']);
    env.must('cyr_dbtool', [quotas, 'quotalegacy', 'set', 'example.com!user.jo^e', '%(S (10))']);
    env.must('cyr_dbtool', [quotas, 'quotalegacy', 'set', 'example.com!', '%(S (1 2))']);
    const q = readQuota(cfg, 'user.tom');
    assert.equal(q?.limits, { STORAGE: 100n, MESSAGE: 5n, 'X-ANNOTATION-STORAGE': null, 'X-NUM-FOLDERS': 10n });
    assert.equal(q?.used, { STORAGE: 10n, MESSAGE: 1n, 'X-ANNOTATION-STORAGE': 0n, 'X-NUM-FOLDERS': 2n });
    assert.is(q?.modseq, 7n);
    assert.is(readQuota(cfg, 'example.com!user.jo^e')?.limits.STORAGE, null);
    assert.is(readQuota(cfg, 'example.com!')?.limits.STORAGE, 2n);
    assert.is(readQuota(cfg, 'user.nobody'), null);
    assert.equal(listQuotaRoots(cfg), ['example.com!', 'example.com!user.jo^e', 'user.tom']);
  } finally {
    env.cleanup();
  }
});

test.run();
