/**
 * DLIST codec throughput: parse and print MB/s on the lab transcripts
 * (real 3.6.1 traffic, repeated to a measurable size) and on a synthetic
 * GET FULLMAILBOX reply of 100k records (one ~27 MB line, the codec's worst
 * realistic case). Input is fed in 64 KiB pieces as a socket would deliver it.
 * Run alone: node --import tsx bench/dlist.bench.ts
 */
import { Buffer } from 'node:buffer';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import v8 from 'node:v8';
import vm from 'node:vm';
import {
  CommandParser,
  ResponseParser,
  chunksToBuffer,
  flag,
  guid,
  kvlist,
  printCommandLine,
  printResponse,
} from '../src/dlist/index.js';
import type { Command, OutChunk, Response } from '../src/dlist/index.js';

type Row = Record<string, string | number>;

const FIXTURES = path.join(path.dirname(fileURLToPath(import.meta.url)), '../test/dlist/fixtures');
const PIECE = 64 * 1024;

function pieces(buf: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < buf.length; i += PIECE) out.push(buf.subarray(i, i + PIECE));
  return out;
}

// A full GC before each timed run, so a run does not pay for its predecessor's garbage.
v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

/** Best of `runs` timings, in ms. `reset` drops the previous run's result before the GC. */
function best(runs: number, fn: () => void, reset: () => void = () => {}): number {
  let min = Infinity;
  for (let i = 0; i < runs; i++) {
    reset();
    gc();
    const t = process.hrtime.bigint();
    fn();
    min = Math.min(min, Number(process.hrtime.bigint() - t) / 1e6);
  }
  return min;
}

function row(name: string, op: string, bytes: number, ms: number, extra: Row = {}): Row {
  return { case: name, op, MB: +(bytes / 1e6).toFixed(2), ms: +ms.toFixed(1), 'MB/s': Math.round(bytes / 1e3 / ms), ...extra };
}

function parseResponsesIn(chunks: Buffer[]): Response[] {
  const p = new ResponseParser();
  const out: Response[] = [];
  for (const c of chunks) for (const e of p.feed(c)) if (e.kind !== 'error') out.push(e);
  return out;
}

function parseCommandsIn(chunks: Buffer[]): Command[] {
  const p = new CommandParser();
  const out: Command[] = [];
  for (const c of chunks) for (const e of p.feed(c)) if (e.kind === 'command') out.push(e.command);
  return out;
}

function printAll<T>(items: T[], print: (x: T) => OutChunk[]): number {
  let n = 0;
  for (const x of items) n += chunksToBuffer(print(x)).length;
  return n;
}

/** The lab transcripts, concatenated and repeated to ~`target` bytes. */
function transcripts(side: 'client' | 'server', target: number): Buffer {
  const one = Buffer.concat(
    fs
      .readdirSync(FIXTURES)
      .filter((f) => f.endsWith(`.${side}.wire`))
      .sort()
      .map((f) => fs.readFileSync(path.join(FIXTURES, f))),
  );
  return Buffer.concat(Array.from({ length: Math.ceil(target / one.length) }, () => one));
}

/** A GET FULLMAILBOX reply: `* MAILBOX %(... RECORD (...))` with n records (§5.3, §5.4). */
export function fullMailboxReply(n: number): Buffer {
  const t0 = 1795625196;
  const userFlags = ['$Label1', '$Forwarded', 'Junk', '$MDNSent'];
  const records = [];
  for (let uid = 1; uid <= n; uid++) {
    const fl = [];
    if (uid % 7 === 0) fl.push(flag('\\Answered'));
    if (uid % 11 === 0) fl.push(flag('\\Flagged'));
    if (uid % 13 === 0) fl.push(flag('\\Deleted'), flag('\\Expunged'));
    if (uid % 3 !== 0) fl.push(flag('\\Seen'));
    if (uid % 5 === 0) fl.push(flag(userFlags[uid % 4]!));
    const modseq = BigInt(uid) * 3n + 4294967296n;
    records.push(
      kvlist({
        UID: uid,
        MODSEQ: modseq,
        LAST_UPDATED: t0 + uid,
        FLAGS: fl,
        INTERNALDATE: t0 + uid - 60,
        SIZE: 1000 + ((uid * 7919) % 90000),
        GUID: guid(createHash('sha1').update(String(uid)).digest('hex')),
        ANNOTATIONS: [
          kvlist({ ENTRY: '/vendor/cmu/cyrus-imapd/thrid', USERID: '', MODSEQ: 0, VALUE: (BigInt(uid) * 0x9e3779b97f4a7cn).toString(16).padStart(16, '0').slice(-16) }),
          kvlist({ ENTRY: '/vendor/cmu/cyrus-imapd/savedate', USERID: '', MODSEQ: 0, VALUE: String(t0 + uid) }),
          kvlist({ ENTRY: '/vendor/cmu/cyrus-imapd/createdmodseq', USERID: '', MODSEQ: 0, VALUE: String(modseq) }),
        ],
      }),
    );
  }
  const mailbox = kvlist('MAILBOX', {
    UNIQUEID: 'u103ccqgpamcuw3qcpu4bmw0',
    MBOXNAME: 'user.alice',
    SYNC_CRC: 1245973966,
    SYNC_CRC_ANNOT: 272472329,
    LAST_UID: n,
    HIGHESTMODSEQ: BigInt(n) * 3n + 4294967296n,
    RECENTUID: n,
    RECENTTIME: t0,
    LAST_APPENDDATE: t0,
    POP3_LAST_LOGIN: 0,
    POP3_SHOW_AFTER: 0,
    UIDVALIDITY: 1795625197,
    PARTITION: 'default',
    ACL: 'alice\tlrswipkxtecdan\t',
    OPTIONS: 'P',
    CREATEDMODSEQ: 1,
    FOLDERMODSEQ: 1,
    RECORD: records,
  });
  return chunksToBuffer(printResponse({ kind: 'item', item: mailbox }).concat([Buffer.from('OK success\r\n')]));
}

export async function benchDlist(): Promise<Row[]> {
  const rows: Row[] = [];

  for (const side of ['server', 'client'] as const) {
    const buf = transcripts(side, 8e6);
    const chunks = pieces(buf);
    const name = `transcripts (${side} lines)`;
    if (side === 'server') {
      let parsed: Response[] = [];
      rows.push(row(name, 'parse', buf.length, best(5, () => (parsed = parseResponsesIn(chunks)), () => (parsed = [])), { lines: parsed.length }));
      let n = 0;
      rows.push(row(name, 'print', buf.length, best(5, () => (n = printAll(parsed, (r) => printResponse(r))))));
      if (n !== buf.length) throw new Error('transcript print-back differs');
    } else {
      let parsed: Command[] = [];
      rows.push(row(name, 'parse', buf.length, best(5, () => (parsed = parseCommandsIn(chunks)), () => (parsed = [])), { lines: parsed.length }));
      let n = 0;
      rows.push(row(name, 'print', buf.length, best(5, () => (n = printAll(parsed, (c) => printCommandLine(c))))));
      if (n !== buf.length) throw new Error('transcript print-back differs');
    }
  }

  const reply = fullMailboxReply(100_000);
  const name = 'GET FULLMAILBOX, 100k records';
  let parsed: Response[] = [];
  const split = pieces(reply);
  rows.push(row(name, 'parse', reply.length, best(5, () => (parsed = parseResponsesIn(split)), () => (parsed = [])), { lines: parsed.length }));
  rows.push(row(name, 'parse (one chunk)', reply.length, best(3, () => (parsed = parseResponsesIn([reply])), () => (parsed = []))));
  const first = parsed[0];
  if (first?.kind !== 'item' || first.item.value.get('RECORD')?.asList()?.length !== 100_000) throw new Error('FULLMAILBOX parse failed');
  let n = 0;
  rows.push(row(name, 'print', reply.length, best(5, () => (n = printAll(parsed, (r) => printResponse(r))))));
  if (n !== reply.length) throw new Error('FULLMAILBOX print-back differs');
  const records = first.item.value.get('RECORD')!.asList()!;
  rows.push(
    row(name, 'read 7 fields/record', reply.length, best(5, () => {
      let sum = 0n;
      for (const r of records) {
        sum += BigInt(r.get('UID')!.asNumber()!) + r.get('MODSEQ')!.asBigInt()!;
        r.get('LAST_UPDATED')?.asNumber();
        r.get('FLAGS')?.asList();
        r.get('INTERNALDATE')?.asNumber();
        r.get('SIZE')?.asNumber();
        r.get('GUID')?.asGuid();
      }
      if (sum === 0n) throw new Error('unreachable');
    })),
  );
  return rows;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  console.table(await benchDlist());
}
