import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { SaslClient, saslUnavailableReason, SASL_CONTINUE, SASL_NOMECH, SASL_OK } from '../../src/native/index.js';
import { Secret } from '../../src/cyrus/secret.js';
import { skip } from '../support/skip.js';

const reason = saslUnavailableReason();

function client(over: Partial<ConstructorParameters<typeof SaslClient>[0]> = {}) {
  return new SaslClient({ service: 'csync', serverFqdn: 'replica.example', authname: 'repl', password: new Secret('s3cret-pw'), ...over });
}

test('libsasl2 is loaded at run time where installed', () => {
  if (reason) return skip('libsasl2 loaded', reason);
  assert.is(reason, null);
});

test('PLAIN: empty authzid, authcid, password (as stock sends it)', async () => {
  if (reason) return skip('sasl plain', reason);
  const c = client();
  const r = await c.start('PLAIN');
  assert.is(r.code, SASL_OK);
  assert.is(r.mech, 'PLAIN');
  assert.equal(r.output, Buffer.from('\0repl\0s3cret-pw'));
  c.dispose();
});

test('libsasl2 picks the strongest offered mechanism, on the pool', async () => {
  if (reason) return skip('sasl choice', reason);
  const c = client();
  const r = await c.start('PLAIN CRAM-MD5 SCRAM-SHA-256 LOGIN');
  assert.is(r.code, SASL_CONTINUE);
  assert.is(r.mech, 'SCRAM-SHA-256');
  assert.match(r.output!.toString(), /^n,,n=repl,r=/);
  c.dispose();
});

test('no usable mechanism is SASL_NOMECH with stock\'s errstring, and no secret in it', async () => {
  if (reason) return skip('sasl nomech', reason);
  const c = client();
  const r = await c.start('X-NOPE');
  assert.is(r.code, SASL_NOMECH);
  assert.is(r.errstring, 'no mechanism available');
  assert.not.match(JSON.stringify(r), /s3cret/);
  c.dispose();
});

test('without a layer ssf is 0; a disposed client refuses work; bad options throw in JS', async () => {
  if (reason) return skip('sasl misc', reason);
  const c = client();
  await c.start('PLAIN');
  assert.is(c.ssf, 0);
  c.dispose();
  assert.throws(() => c.ssf, /disposed/);
  assert.throws(() => client({ maxBufSize: -1 }), /maxBufSize/);
  assert.throws(() => client({ service: '' }), /service/);
});

test('dispose while a step runs is deferred until it ends', async () => {
  if (reason) return skip('sasl dispose', reason);
  const c = client();
  const p = c.start('SCRAM-SHA-256');
  c.dispose();
  assert.is((await p).code, SASL_CONTINUE);
  assert.throws(() => c.ssf, /disposed/);
});

test.run();
