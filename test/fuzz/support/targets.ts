/**
 * The fuzz targets: each reader of replica responses, sync-log lines and
 * the master's on-disk files, with its seed images (real files made by
 * Cyrus, fixtures, and images built for each cyrus.index version), how to
 * exercise it, and the typed errors it may throw. Anything else escaping
 * (RangeError, TypeError, a bare Error) is a bug.
 */
import fs from 'node:fs';
import path from 'node:path';
import { crc32 } from 'node:zlib';
import type fc from 'fast-check';
import { decodeAnnotationValue, AnnotationFormatError, mailboxAnnotations, messageAnnotations, serverAnnotations } from '../../../src/cyrus/annotations.js';
import { decodeRaclModseq } from '../../../src/cyrus/counters.js';
import { folderThreadModseq } from '../../../src/cyrus/conversations.js';
import { decodeDb } from '../../../src/cyrus/cyrusdb/open.js';
import { SkiplistSeeker } from '../../../src/cyrus/cyrusdb/skiplist-seek.js';
import { TwoskipSeeker } from '../../../src/cyrus/cyrusdb/twoskip-seek.js';
import { CyrusDbError, type Db, type Entry } from '../../../src/cyrus/cyrusdb/types.js';
import { DlistSyntaxError, parseDlistValue } from '../../../src/cyrus/dlist-value.js';
import { decodeHeader, HeaderFormatError } from '../../../src/cyrus/header.js';
import { IndexFormatError, IndexImage, SUPPORTED_MINOR_VERSIONS } from '../../../src/cyrus/index-file.js';
import { Mboxlist, MboxlistError } from '../../../src/cyrus/mboxlist.js';
import { decodeQuotaFile, QuotaFormatError } from '../../../src/cyrus/quota.js';
import { decodeSeenDb, SeenFormatError } from '../../../src/cyrus/seen.js';
import { decodeSubscriptions, SubsFormatError } from '../../../src/cyrus/subs.js';
import { CommandParser, DlistError, parseNode, printResponse, ResponseParser } from '../../../src/dlist/index.js';
import { ByteSink } from '../../../src/synclog/byte-sink.js';
import { parseLine, printLine } from '../../../src/synclog/line.js';
import { LineRouter, routeLine } from '../../../src/synclog/route.js';
import { encodeIndex } from '../../cyrus/support/index-writer.js';
import { guardedReadAt } from './guards.js';
import { repairCounters, repairIndex, repairTwoskip } from './crc-repair.js';
import { mutatedInputs } from './mutate.js';

type ErrorClass = abstract new (...args: never[]) => Error;

export interface FuzzTarget {
  readonly name: string;
  readonly inputs: fc.Arbitrary<{ readonly bytes: Buffer }>;
  /** Exercises the reader; throws only `allowed` errors. */
  run(bytes: Buffer): void;
  readonly allowed: readonly ErrorClass[];
  /** Its typed errors must name the file (the target passes a path). */
  readonly namesFile?: boolean;
}

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../../..');
const file = (rel: string): Buffer => fs.readFileSync(path.join(root, rel));
const fuzzFixture = (name: string): Buffer => file(`test/fuzz/fixtures/${name}`);
const cyrus310 = (name: string): Buffer => file(`test/cyrus/fixtures/cyrus-3.10/${name}`);
const wire = (name: string): Buffer => file(`test/dlist/fixtures/${name}`);
const CTX = { deletedPrefix: 'DELETED', defaultDomain: null };
const DB_ERRORS = [CyrusDbError];

/** Every key, every prefix of the first few, and a few absent keys, through get() and entries(). */
function exercise(db: Pick<Db, 'get' | 'entries'>): void {
  const seen: Entry[] = [];
  for (const e of db.entries()) if (seen.push(e) > 4096) break;
  const probes = [Buffer.alloc(0), Buffer.from('N'), Buffer.from('Nuser\x1ftom'), Buffer.from('\xff\xff', 'latin1'), ...seen.slice(0, 8).map((e) => e.key)];
  for (const p of probes) {
    db.get(p);
    let n = 0;
    for (const _ of db.entries(p.subarray(0, Math.max(0, p.length - 1)))) if (++n > 4096) break;
  }
}

/** The whole-image decoder, then the positioned-read seekers over the same bytes. */
function bothReaders(bytes: Buffer, use: (db: Pick<Db, 'get' | 'entries'>) => void): void {
  const failures: unknown[] = [];
  try {
    use(decodeDb(bytes, '/fuzz/db'));
  } catch (e) {
    failures.push(e);
  }
  const magic = bytes.length >= 32 ? bytes.toString('latin1', 4, 11) : '';
  if (magic === 'twoskip' || magic === 'skiplis') {
    try {
      const readAt = guardedReadAt(bytes);
      const seeker = magic === 'twoskip' ? new TwoskipSeeker(readAt, bytes.length, '/fuzz/db') : new SkiplistSeeker(readAt, bytes.length, '/fuzz/db');
      use({ get: (k) => seeker.get(Buffer.from(k)), entries: (p) => seeker.scan(Buffer.from(p ?? '')) });
    } catch (e) {
      failures.push(e);
    }
  }
  // Report an unexpected failure in preference to an expected one.
  const odd = failures.find((e) => !(e instanceof CyrusDbError));
  if (odd !== undefined) throw odd;
  if (failures[0] !== undefined) throw failures[0];
}

function indexSeeds(): Buffer[] {
  const seeds = [fuzzFixture('cyrus.index'), cyrus310('upgrade/v17.cyrus.index'), cyrus310('upgrade/v19.cyrus.index'), cyrus310('fresh/cyrus.index')];
  for (const v of SUPPORTED_MINOR_VERSIONS) {
    const records = [1, 2, 5].map((uid) => ({ uid, size: 100 * uid, modseq: BigInt(uid + 3), guid: 'ab'.repeat(20), cid: 7n, internalFlags: uid === 2 ? 2 ** 31 : 0 }));
    seeds.push(encodeIndex(v, { lastUid: 5, uidvalidity: 1700000000, exists: 3, highestmodseq: 9n, createdmodseq: 1n }, records));
  }
  return seeds;
}

function countersSeeds(): Buffer[] {
  return [88, 104, 296].map((len, i) => {
    const b = Buffer.alloc(len);
    b.writeUInt32BE([3, 4, 9][i]!, 4);
    if (len >= 96) b.writeBigUInt64BE(123456789n, 88);
    b.writeUInt32BE(crc32(b.subarray(0, len - 4)), len - 4);
    return b;
  });
}

const responseWires = ['full-sync', 'append', 'rename', 'rolling-connect', 'shared-setup', 'seen-change'].map((n) => wire(`${n}.server.wire`));
const commandWires = ['full-sync', 'append', 'rename', 'rolling-connect'].map((n) => wire(`${n}.client.wire`));
const syncLogLines = [
  'APPEND user.tom\n',
  'MAILBOX user.tom.Sent\n',
  'MAILBOX "user.tom.with space"\n',
  'RENAME user.tom.A user.bob.B\n',
  'UNMAILBOX "user.tom.a\\"b"\n',
  'SEEN tom 3f2a9c1e-1111-2222-3333-444455556666\n',
  'SUB tom user.bob.shared\n',
  'QUOTA user.tom\n',
  'ANNOTATION ""\n',
  'USER example.com!user.tom\n',
  'META tom@example.com\n',
  'UNUSER tom\n',
  'SIEVE tom\n',
  'MAILBOX {5+}\r\nuser.x\n',
].map((l) => Buffer.from(l, 'latin1'));

/** Events up to the first fatal error, which a failed parser repeats on every later call. */
function untilFatal<E>(events: E[]): E[] {
  const i = events.findIndex((e) => (e as { kind?: string; fatal?: boolean }).kind === 'error' && (e as { fatal?: boolean }).fatal);
  return i < 0 ? events : events.slice(0, i + 1);
}

/** Feeds a stream whole and in three chunks; the events must not depend on the cut. */
function feedBoth<E>(make: () => { feed(c: Uint8Array): E[]; end(): E[] }, bytes: Buffer, sig: (e: E) => string): void {
  const whole = make();
  const a = untilFatal([...whole.feed(bytes), ...whole.end()]).map(sig);
  const split = make();
  const c1 = Math.floor(bytes.length / 3);
  const c2 = Math.floor((2 * bytes.length) / 3);
  const b = untilFatal([...split.feed(bytes.subarray(0, c1)), ...split.feed(bytes.subarray(c1, c2)), ...split.feed(bytes.subarray(c2)), ...split.end()]).map(sig);
  if (a.join('\n') !== b.join('\n')) throw new Error('fuzz: parse depends on chunking');
}

const router = new LineRouter();
const sink = new ByteSink(256);

export const TARGETS: readonly FuzzTarget[] = [
  {
    name: 'dlist-responses',
    inputs: mutatedInputs(responseWires),
    allowed: [],
    run(bytes) {
      feedBoth(() => new ResponseParser(), bytes, (e) => (e.kind === 'error' ? `error:${e.error.code}` : Buffer.concat(printResponse(e) as Buffer[]).toString('latin1')));
    },
  },
  {
    name: 'dlist-commands',
    inputs: mutatedInputs(commandWires),
    allowed: [],
    run(bytes) {
      feedBoth(() => new CommandParser(), bytes, (e) => (e.kind === 'error' ? `error:${e.error.code}` : e.command.verb));
    },
  },
  {
    name: 'dlist-one-shot',
    inputs: mutatedInputs(responseWires.map((w) => w.subarray(2, Math.max(2, w.indexOf('\r\n'))))),
    allowed: [DlistError],
    run(bytes) {
      parseNode(bytes);
    },
  },
  {
    name: 'synclog-line',
    inputs: mutatedInputs(syncLogLines),
    allowed: [],
    run(bytes) {
      const parsed = parseLine(bytes);
      sink.reset();
      const end = bytes.length > 0 && bytes[bytes.length - 1] === 0x0a ? bytes.length - 1 : bytes.length;
      const n = router.route(bytes, 0, end, sink);
      if (!parsed.ok) return;
      // A parsed line prints back and routes the same as the raw bytes. Not
      // for VT and FF: Cyrus's writer copies them raw into an atom, its reader
      // ends the atom there (quoteArg in line.ts does the same, on purpose).
      const vtff = parsed.line.args.some((a) => a.includes('\x0b') || a.includes('\x0c'));
      if (!vtff && !parseLine(printLine(parsed.line)).ok) throw new Error('fuzz: printed line does not parse');
      if (n < 0 && parsed.line.args.every((a) => !a.includes('\0'))) throw new Error(`fuzz: parsed line not routed (${n})`);
      const r = routeLine(parsed.line);
      const keys = sink.view().toString('latin1').split('\n').slice(0, -1);
      const want = r.kind === 'single' ? [r.key] : [...r.keys];
      if (n > 0 && keys.join('\n') !== want.join('\n')) throw new Error(`fuzz: router keys ${JSON.stringify(keys)} != ${JSON.stringify(want)}`);
    },
  },
  {
    name: 'twoskip',
    namesFile: true,
    inputs: mutatedInputs([fuzzFixture('mailboxes.twoskip'), fuzzFixture('seen.twoskip'), cyrus310('configdir/mailboxes.db')], repairTwoskip),
    allowed: DB_ERRORS,
    run: (bytes) => bothReaders(bytes, exercise),
  },
  {
    name: 'skiplist',
    namesFile: true,
    inputs: mutatedInputs([fuzzFixture('mailboxes.skiplist'), fuzzFixture('seen.skiplist'), cyrus310('conversations/conversations.db')]),
    allowed: DB_ERRORS,
    run: (bytes) => bothReaders(bytes, exercise),
  },
  {
    name: 'flat',
    namesFile: true,
    inputs: mutatedInputs([fuzzFixture('mailboxes.flat'), fuzzFixture('subs.flat'), cyrus310('configdir/alice.sub.db')]),
    allowed: DB_ERRORS,
    run: (bytes) => exercise(decodeDb(bytes, '/fuzz/db')),
  },
  {
    name: 'mailboxes.db',
    inputs: mutatedInputs([fuzzFixture('mailboxes.twoskip'), fuzzFixture('mailboxes.skiplist'), fuzzFixture('mailboxes.flat'), cyrus310('configdir/mailboxes.db')], repairTwoskip),
    allowed: [CyrusDbError, MboxlistError],
    run: (bytes) =>
      bothReaders(bytes, (db) => {
        const ml = new Mboxlist(db, CTX);
        let n = 0;
        for (const _ of ml.entries()) if (++n > 4096) break;
        for (const _ of ml.idEntries()) if (++n > 8192) break;
        [...ml.userTree('tom')];
        ml.confInbox('tom', 'user.tom.Sent');
        ml.lookup('user.bob');
      }),
  },
  {
    name: 'cyrus.header',
    namesFile: true,
    inputs: mutatedInputs([fuzzFixture('cyrus.header'), cyrus310('fresh/cyrus.header'), cyrus310('upgrade/cyrus.header')]),
    allowed: [HeaderFormatError],
    run: (bytes) => void decodeHeader(bytes, '/fuzz/cyrus.header'),
  },
  {
    name: 'cyrus.index',
    namesFile: true,
    inputs: mutatedInputs(indexSeeds(), repairIndex),
    allowed: [IndexFormatError],
    run(bytes) {
      const path = '/fuzz/cyrus.index';
      new IndexImage(bytes, path).uidAbove(1);
      new IndexImage(bytes, path).modifiedSince(4n);
      new IndexImage(bytes, path).all();
    },
  },
  {
    name: 'seen',
    namesFile: true,
    inputs: mutatedInputs([fuzzFixture('seen.twoskip'), fuzzFixture('seen.skiplist')], repairTwoskip),
    allowed: [CyrusDbError, SeenFormatError],
    run: (bytes) => void decodeSeenDb(decodeDb(bytes, '/fuzz/seen')),
  },
  {
    name: 'subs',
    namesFile: true,
    inputs: mutatedInputs([fuzzFixture('subs.flat'), cyrus310('configdir/alice.sub.db')]),
    allowed: [CyrusDbError, SubsFormatError],
    run: (bytes) => void decodeSubscriptions(decodeDb(bytes, '/fuzz/sub'), 'tom', CTX),
  },
  {
    name: 'quota',
    namesFile: true,
    inputs: mutatedInputs([cyrus310('configdir/quota.user.alice'), Buffer.from('%(S (12 1024) M (3) AS (0) NF (2 10) MODSEQ 5)\n'), Buffer.from('12 1024\nMESSAGE 3 -1 ANNOTATION-STORAGE 0 7\n')]),
    allowed: [QuotaFormatError],
    run: (bytes) => void decodeQuotaFile('user.tom', bytes, '/fuzz/quota'),
  },
  {
    name: 'annotations',
    inputs: mutatedInputs([fuzzFixture('annotations.twoskip'), fuzzFixture('cyrus.annotations')], repairTwoskip),
    allowed: [CyrusDbError, AnnotationFormatError],
    run: (bytes) =>
      bothReaders(bytes, (db) => {
        mailboxAnnotations(db, '3f2a9c1e-1111-2222-3333-444455556666', { owner: 'tom', tombstones: true });
        serverAnnotations(db);
        messageAnnotations(db, { owner: null });
        for (const e of db.entries()) decodeAnnotationValue(e.value, 4);
      }),
  },
  {
    name: 'counters',
    inputs: mutatedInputs(countersSeeds(), repairCounters),
    allowed: [],
    run: (bytes) => void decodeRaclModseq(bytes),
  },
  {
    name: 'conversations',
    inputs: mutatedInputs([cyrus310('conversations/conversations.db')]),
    allowed: [CyrusDbError],
    run: (bytes) =>
      bothReaders(bytes, (db) => {
        for (const e of db.entries('F')) folderThreadModseq(db, { uniqueid: e.key.toString('latin1', 1), name: 'user.alice' });
      }),
  },
  {
    name: 'dlist-value',
    inputs: mutatedInputs([
      Buffer.from('%(T e I 3f2a9c1e P default V 1700000000 C 1 F 9 M 1700000001 A %(tom lrswipkxtecdan anyone p) H (%(N user.tom.Old M 1 V 2 C 1 F 2 T e P default)))'),
      Buffer.from('%(Q user.tom I 3f2a U ($Junk Custom1 {7+}\r\nCustom2 "a \\"b"))'),
    ]),
    allowed: [DlistSyntaxError],
    run: (bytes) => void parseDlistValue(bytes),
  },
];
