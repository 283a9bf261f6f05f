// lookupSystemUser: /etc/passwd-style files first, `id` (NSS) as the fallback.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { lookupSystemUser } from '../../src/cyrus/system-user.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'syncmux-passwd-'));
const passwd = path.join(dir, 'passwd');
fs.writeFileSync(passwd, [
  'root:x:0:0:root:/root:/bin/bash',
  '# a comment line',
  'broken:x:notanumber:8::/:/bin/false',
  'cyrus:x:4103:8:Cyrus Mailsystem User,,,:/var/spool/cyrus:/bin/sh',
  '',
].join('\n'));

test('reads uid and gid from the passwd file', () => {
  assert.equal(lookupSystemUser('cyrus', passwd), { uid: 4103, gid: 8 });
  assert.equal(lookupSystemUser('root', passwd), { uid: 0, gid: 0 });
});

test('falls back to id(1) for names the file lacks, and says null for unknown users', () => {
  assert.equal(lookupSystemUser('root', path.join(dir, 'missing')), { uid: 0, gid: 0 });
  assert.is(lookupSystemUser('no-such-user-syncmux', passwd), null);
});

test.after(() => fs.rmSync(dir, { recursive: true, force: true }));
test.run();
