// Real wire traffic of stock Cyrus 3.6.1 (fixtures/*.wire, restored from the
// lab transcripts by fixtures/extract-transcripts.mjs): every command and
// response line must parse and print back byte for byte, and the engine's
// builders must be able to produce the same bytes.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import {
  CommandParser,
  ResponseParser,
  commandItem,
  file,
  flags,
  guid,
  keyed,
  kvlist,
  list,
  printCommand,
  printCommandLine,
  printResponse,
  writeChunks,
} from '../../src/dlist/index.js';
import type { Command, Response } from '../../src/dlist/index.js';
import { SCENARIOS, bin, wire } from './helpers.js';

function commands(buf: Buffer): Command[] {
  const p = new CommandParser();
  const evs = [...p.feed(buf), ...p.end()];
  return evs.map((e) => {
    if (e.kind === 'error') throw e.error;
    return e.command;
  });
}

function responses(buf: Buffer): Response[] {
  const p = new ResponseParser();
  const evs = [...p.feed(buf), ...p.end()];
  return evs.map((e) => {
    if (e.kind === 'error') throw e.error;
    return e;
  });
}

test('fixtures cover all 13 scenarios', () => {
  assert.is(SCENARIOS.length, 13);
});

for (const name of SCENARIOS) {
  test(`${name}: every client line parses and prints back byte-identically`, () => {
    const original = wire(name, 'client').toString('latin1');
    let off = 0;
    for (const cmd of commands(wire(name, 'client'))) {
      const printed = bin(printCommandLine(cmd));
      assert.is(printed, original.slice(off, off + printed.length), `${name} at byte ${off}`);
      off += printed.length;
    }
    assert.is(off, original.length);
  });

  test(`${name}: every server line parses and prints back byte-identically`, () => {
    const original = wire(name, 'server').toString('latin1');
    let off = 0;
    for (const r of responses(wire(name, 'server'))) {
      assert.is.not(r.kind, 'unknown', `${name}: unclassified line at ${off}`);
      const printed = bin(printResponse(r));
      assert.is(printed, original.slice(off, off + printed.length), `${name} at byte ${off}`);
      off += printed.length;
    }
    assert.is(off, original.length);
  });
}

test('full-sync: APPLY MESSAGE carries three file literals whose GUID is the SHA-1 of the body', () => {
  const cmds = commands(wire('full-sync', 'client'));
  const msg = cmds.map(commandItem).find((i) => i?.name === 'MESSAGE');
  assert.ok(msg);
  const files = msg.value.asList() ?? [];
  assert.is(files.length, 3);
  for (const f of files) {
    assert.is(f.kind, 'file');
    if (f.kind !== 'file') continue;
    assert.is(f.partition, 'default');
    assert.is(f.size, 1104);
    const body = f.asBytes()!;
    assert.is(body.length, 1104);
    assert.ok(body.toString('latin1').startsWith('Return-Path: <sender@lab.test>\r\n'));
    assert.is(createHash('sha1').update(body).digest('hex'), f.guid);
  }
});

test('full-sync: APPLY MAILBOX reads through typed accessors', () => {
  const cmds = commands(wire('full-sync', 'client'));
  const apply = cmds.find((c) => c.verb === 'APPLY' && commandItem(c)?.name === 'MAILBOX');
  const mb = commandItem(apply!)!.value;
  assert.is(mb.kind, 'kvlist');
  assert.is(mb.get('MBOXNAME')?.asString(), 'user.alice');
  assert.is(mb.get('UIDVALIDITY')?.asNumber(), 1795625197);
  assert.is(mb.get('HIGHESTMODSEQ')?.asBigInt(), 6n);
  assert.is(mb.get('SYNC_CRC_ANNOT')?.asNumber(), 272472329);
  assert.is(mb.get('ACL')?.asString(), 'alice\tlrswipkxtecdan\t');
  assert.is(mb.get('MBOXTYPE'), undefined);
  const records = mb.get('RECORD')?.asList() ?? [];
  assert.is(records.length, 3);
  const r1 = records[0]!;
  assert.is(r1.get('UID')?.asNumber(), 1);
  assert.is(r1.get('GUID')?.asGuid(), 'b0ea583daba4ed785918654fb25afc73b4fddc16');
  const fl = r1.get('FLAGS')?.asList() ?? [];
  assert.equal(fl.map((f) => [f.kind, f.asString()]), [['flag', '\\Seen']]);
  const r2flags = records[1]!.get('FLAGS')?.asList() ?? [];
  assert.equal(r2flags.map((f) => [f.kind, f.asString()]), [['flag', '\\Flagged'], ['atom', '$Label1']]);
  const ann = records[0]!.get('ANNOTATIONS')?.asList() ?? [];
  assert.is(ann[0]?.get('ENTRY')?.asString(), '/vendor/cmu/cyrus-imapd/savedate');
  assert.is(ann[0]?.get('USERID')?.asString(), '');
  assert.is(ann[0]?.get('VALUE')?.asNumber(), 1795625196);
});

test('server lines classify as sync_client reads them', () => {
  const banner = responses(wire('rolling-connect', 'server'));
  const sasl = banner[0];
  assert.ok(sasl?.kind === 'untagged' && sasl.word === 'SASL' && sasl.text === 'PLAIN LOGIN');
  assert.type(sasl.parseError, 'string');
  // `* COMPRESS DEFLATE` happens to be a valid DLIST item; banner code must accept both shapes.
  assert.is(banner[1]?.kind, 'item');
  assert.is(banner[2]?.kind, 'untagged');
  assert.equal(banner[3], { kind: 'untagged', word: 'OK', text: 'lab-replica Cyrus sync server 3.6.1-Debian-3.6.1-4+deb12u5' });
  assert.equal(banner[4], { kind: 'status', tag: null, status: 'OK', text: 'Success (no protection)', code: 'OK' });
  const enabled = banner[6];
  assert.ok(enabled?.kind === 'item' && enabled.item.name === 'ENABLED');
  assert.equal(enabled.item.value.asList()?.map((n) => n.asString()), ['SIEVE-MAILBOX']);

  const append = responses(wire('append', 'server'));
  const missing = append.find((r) => r.kind === 'item' && r.item.name === 'MISSING');
  assert.ok(missing?.kind === 'item');
  assert.is(missing.item.value.asList()?.[0]?.asGuid(), '5aa86262a19e93d11866ec3aae64a60640a9dee4');
  const mailbox = append.find((r) => r.kind === 'item' && r.item.name === 'MAILBOX');
  assert.ok(mailbox?.kind === 'item');
  assert.is(mailbox.item.value.get('LAST_UID')?.asNumber(), 3);
});

/** The engine's way of producing the append scenario's APPLY MAILBOX. */
test('builders reproduce the transcript APPLY MAILBOX byte for byte', () => {
  const original = wire('append', 'client').toString('latin1');
  const item = kvlist('MAILBOX', {
    UNIQUEID: 'u103ccqgpamcuw3qcpu4bmw0',
    MBOXNAME: 'user.alice',
    MBOXTYPE: undefined,
    SYNC_CRC: 1215066966,
    SYNC_CRC_ANNOT: 3006229637,
    LAST_UID: 4,
    HIGHESTMODSEQ: 7n,
    RECENTUID: 3,
    RECENTTIME: 1795625196,
    LAST_APPENDDATE: 1795625199,
    POP3_LAST_LOGIN: 0,
    POP3_SHOW_AFTER: 0,
    UIDVALIDITY: 1795625197,
    PARTITION: 'default',
    ACL: 'alice\tlrswipkxtecdan\t',
    OPTIONS: 'P',
    CREATEDMODSEQ: 1n,
    FOLDERMODSEQ: 1n,
    SINCE_MODSEQ: 6n,
    SINCE_CRC: 1245973966,
    SINCE_CRC_ANNOT: 272472329,
    RECORD: [
      kvlist({
        UID: 4,
        MODSEQ: 7n,
        LAST_UPDATED: 1795625199,
        FLAGS: flags([]),
        INTERNALDATE: 1795625199,
        SIZE: 1103,
        GUID: guid('5aa86262a19e93d11866ec3aae64a60640a9dee4'),
        ANNOTATIONS: [
          kvlist({ ENTRY: '/vendor/cmu/cyrus-imapd/savedate', USERID: '', MODSEQ: 0, VALUE: '1795625199' }),
          kvlist({ ENTRY: '/vendor/cmu/cyrus-imapd/createdmodseq', USERID: '', MODSEQ: 0, VALUE: '7' }),
        ],
      }),
    ],
  });
  const printed = bin(printCommand('APPLY', item));
  assert.ok(original.includes(printed), printed);
  assert.ok(printed.startsWith('APPLY MAILBOX %(UNIQUEID u103ccqgpamcuw3qcpu4bmw0 MBOXNAME user.alice SYNC_CRC'));
});

test('builders + writeChunks reproduce APPLY MESSAGE streamed from a spool file', async () => {
  const original = wire('append', 'client');
  const cmd = commands(original).find((c) => commandItem(c)?.name === 'MESSAGE')!;
  const parsed = commandItem(cmd)!.value.asList()![0]!;
  assert.is(parsed.kind, 'file');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dlist-'));
  try {
    const spool = path.join(dir, '4.');
    fs.writeFileSync(spool, parsed.asBytes()!);
    const item = list('MESSAGE', [file('default', '5aa86262a19e93d11866ec3aae64a60640a9dee4', 1103, { path: spool })]);
    const got: Buffer[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, cb) {
        got.push(chunk);
        cb();
      },
    });
    await writeChunks(sink, printCommand('APPLY', item));
    const bytes = Buffer.concat(got).toString('latin1');
    assert.ok(original.toString('latin1').includes(bytes));
    assert.ok(bytes.startsWith('APPLY MESSAGE (%{default 5aa86262a19e93d11866ec3aae64a60640a9dee4 1103}\r\nReturn-Path'));
    assert.ok(bytes.endsWith('\r\n)\r\n'));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('simple commands', () => {
  assert.is(bin(printCommand('GET', keyed('USER', 'alice'))), 'GET USER alice\r\n');
  assert.is(bin(printCommand('RESTART')), 'RESTART\r\n');
  assert.is(bin(printCommand('SYNCGET', list('MAILBOXES', ['user.alice']), { tag: 'S7' })), 'S7 SYNCGET MAILBOXES (user.alice)\r\n');
  assert.is(bin(printCommand('APPLY', kvlist('FORCE', {}))), 'APPLY FORCE %()\r\n');
});

test.run();
