import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { imapdConf } from '../../lab/lab-config.js';

const paths = { root: '/r', imapdConf: '/r/imapd.conf', cyrusConf: '/r/cyrus.conf', configDirectory: '/r/conf', spool: '/r/spool', sieveDir: '/r/sieve', sasldb: '/r/sasldb2' };

test('an extra line replaces the default of its key: Cyrus refuses a key given twice', () => {
  const text = imapdConf({ servername: 's', admins: ['admin'], paths, virtdomains: false, extra: ['expunge_mode: immediate', 'conversations: yes'] });
  const keys = text.split('\n').filter((l) => l && !l.startsWith('#')).map((l) => l.slice(0, l.indexOf(':')));
  assert.equal(keys.filter((k) => k === 'expunge_mode'), ['expunge_mode']);
  assert.ok(text.includes('expunge_mode: immediate\n'));
  assert.not.ok(text.includes('expunge_mode: delayed'));
  assert.ok(text.includes('delete_mode: delayed\n'), 'other defaults stay');
  assert.is(new Set(keys).size, keys.length, 'no key twice');
});

test.run();
