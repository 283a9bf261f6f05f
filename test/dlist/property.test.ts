// Property tests (fast-check): print∘parse is the identity on printed
// trees, parsing does not depend on how the input is chunked, and random
// or truncated input never throws and always terminates.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import {
  CommandParser,
  DAtom,
  DFile,
  DFlag,
  DKvList,
  DList,
  NIL,
  ResponseParser,
  chunksToBuffer,
  printCommand,
  printCommandLine,
  printItem,
  printResponse,
} from '../../src/dlist/index.js';
import type { CommandEvent, Keyed, Node, ResponseEvent } from '../../src/dlist/index.js';
import { bin, plain, splitAt, wire, SCENARIOS } from './helpers.js';
import type { Plain } from './helpers.js';

const bytesStr = (max: number) => fc.uint8Array({ maxLength: max }).map((b) => Buffer.from(b).toString('latin1'));
const atomish = fc.stringMatching(/^[A-Za-z0-9._$\/:-]{1,12}$/);
const special = fc.constantFrom('', 'NIL', 'a b', '\\Sent', 'a%b', '"', 'x\r\ny', 'a\tb', '{3+}', '%{', '(', ')', '*', '\x1f', '\x7f', 'é');
const rawStr = fc.oneof({ weight: 4, arbitrary: atomish }, { weight: 2, arbitrary: special }, { weight: 1, arbitrary: bytesStr(40) });
const keyStr = rawStr.filter((k) => !k.includes('\0'));
const flagStr = fc.tuple(fc.boolean(), atomish.filter((a) => a !== 'NIL')).map(([bs, a]) => (bs ? '\\' + a : a));
const guidStr = fc.stringMatching(/^[0-9a-f]{40}$/);

const { node } = fc.letrec<{ node: Node; list: Node; kvlist: Node; leaf: Node }>((tie) => ({
  node: fc.oneof({ depthSize: 'small', withCrossShrink: true }, tie('leaf'), tie('list'), tie('kvlist')),
  leaf: fc.oneof(
    { weight: 6, arbitrary: rawStr.map((s): Node => new DAtom(s)) },
    { weight: 1, arbitrary: fc.constant<Node>(NIL) },
    { weight: 2, arbitrary: flagStr.map((s): Node => new DFlag(s)) },
    {
      weight: 1,
      arbitrary: fc.tuple(atomish, guidStr, fc.uint8Array({ maxLength: 64 })).map(
        ([p, g, b]): Node => new DFile(p, g, b.length, { type: 'bytes', chunks: [Buffer.from(b)] }),
      ),
    },
  ),
  list: fc.array(tie('node'), { maxLength: 4 }).map((items): Node => new DList(items)),
  kvlist: fc
    .array(fc.tuple(keyStr, tie('node')), { maxLength: 4 })
    .map((kv): Node => new DKvList(kv.flatMap(([k, v]) => [k, v]))),
}));

const STATUS_WORDS = new Set(['OK', 'NO', 'BAD', 'BYE', 'PREAUTH']);
const item = fc.tuple(keyStr.filter((k) => !STATUS_WORDS.has(k)), node).map(([name, value]): Keyed => ({ name, value }));

/** What a printed tree reads back as: a flag without a backslash is just an atom. */
function canonical(p: Plain): Plain {
  if (p === null || typeof p === 'string') return p;
  if (Array.isArray(p)) return p.map(canonical);
  if ('flag' in p) return p.flag.startsWith('\\') ? p : p.flag;
  if ('kv' in p) return { kv: p.kv.map(([k, v]) => [k, canonical(v)] as [string, Plain]) };
  return p;
}

function responseSig(evs: ResponseEvent[]): string[] {
  return evs.map((e) => (e.kind === 'error' ? `error:${e.error.code}` : bin(printResponse(e))));
}

function commandSig(evs: CommandEvent[]): string[] {
  return evs.map((e) => (e.kind === 'error' ? `error:${e.error.code}:${e.fatal}` : bin(printCommandLine(e.command))));
}

function feedAll<E>(p: { feed(c: Uint8Array): E[]; end(): E[] }, chunks: readonly Buffer[]): E[] {
  const out: E[] = [];
  for (const c of chunks) out.push(...p.feed(c));
  out.push(...p.end());
  return out;
}

test('print∘parse is the identity on generated responses (and the tree survives)', () => {
  fc.assert(
    fc.property(item, (it) => {
      const printed = chunksToBuffer([Buffer.from('* '), ...printItem(it), Buffer.from('\r\n')]);
      const evs = feedAll(new ResponseParser(), [printed]);
      assert.is(evs.length, 1);
      const ev = evs[0]!;
      if (ev.kind !== 'item') throw new Error(`not an item: ${JSON.stringify(ev)}`);
      assert.is(bin(printResponse(ev)), printed.toString('latin1'));
      assert.is(ev.item.name, it.name);
      assert.equal(plain(ev.item.value), canonical(plain(it.value)));
    }),
    { numRuns: 500 },
  );
});

test('print∘parse is the identity on generated commands', () => {
  fc.assert(
    fc.property(item, fc.constantFrom('APPLY', 'GET', 'RESTORE'), (it, verb) => {
      const printed = chunksToBuffer(printCommand(verb, it));
      const evs = feedAll(new CommandParser(), [printed]);
      assert.equal(commandSig(evs), [printed.toString('latin1')]);
    }),
    { numRuns: 300 },
  );
});

const stream = fc.array(item, { minLength: 1, maxLength: 5 }).map((items) =>
  chunksToBuffer(items.flatMap((it) => [Buffer.from('* '), ...printItem(it), Buffer.from('\r\n')]).concat([Buffer.from('OK success\r\n')])),
);
const cuts = (max: number) => fc.array(fc.nat({ max }), { maxLength: 12 });

test('parsing is chunking-invariant (generated streams)', () => {
  fc.assert(
    fc.property(stream, cuts(4000), (buf, cs) => {
      const whole = responseSig(feedAll(new ResponseParser(), [buf]));
      const split = responseSig(feedAll(new ResponseParser(), splitAt(buf, cs)));
      assert.equal(split, whole);
    }),
    { numRuns: 300 },
  );
});

test('parsing is chunking-invariant (transcripts, both directions)', () => {
  for (const name of SCENARIOS) {
    const c = wire(name, 'client');
    const s = wire(name, 'server');
    const wholeC = commandSig(feedAll(new CommandParser(), [c]));
    const wholeS = responseSig(feedAll(new ResponseParser(), [s]));
    fc.assert(
      fc.property(cuts(c.length), cuts(s.length), (cc, sc) => {
        assert.equal(commandSig(feedAll(new CommandParser(), splitAt(c, cc))), wholeC);
        assert.equal(responseSig(feedAll(new ResponseParser(), splitAt(s, sc))), wholeS);
      }),
      { numRuns: 30 },
    );
  }
});

// Bytes drawn mostly from the grammar's own alphabet, so random input reaches deep states.
const ALPHABET = Buffer.from('(){}%"\\ \r\n*+0123456789NIL OKNOBADSabc\t\x00\xff');
const noisy = fc.array(fc.oneof(fc.nat({ max: ALPHABET.length - 1 }).map((i) => ALPHABET[i]!), fc.nat({ max: 255 })), { maxLength: 300 }).map((a) => Buffer.from(a));

test('random bytes never throw and always terminate (responses and commands)', () => {
  fc.assert(
    fc.property(noisy, cuts(300), fc.boolean(), (buf, cs, tagged) => {
      const small = { maxLineLength: 200, maxLiteralSize: 100, maxFrameSize: 250, maxDepth: 8 };
      const rs = feedAll(new ResponseParser(small), splitAt(buf, cs));
      for (const e of rs) assert.ok(['item', 'untagged', 'status', 'continuation', 'unknown', 'error'].includes(e.kind));
      const cmds = feedAll(new CommandParser({ ...small, tagged }), splitAt(buf, cs));
      for (const e of cmds) assert.ok(e.kind === 'command' || e.kind === 'error');
      // Whatever parsed as a response prints back without throwing.
      for (const e of rs) if (e.kind !== 'error') printResponse(e);
    }),
    { numRuns: 2000 },
  );
});

const mutation = fc.record({ at: fc.nat(), op: fc.constantFrom('flip', 'insert', 'delete'), byte: fc.oneof(fc.constantFrom(...ALPHABET), fc.nat({ max: 255 })) });

test('mutated valid streams never throw and always terminate', () => {
  fc.assert(
    fc.property(stream, fc.array(mutation, { minLength: 1, maxLength: 4 }), cuts(4000), (buf, muts, cs) => {
      let b = Buffer.from(buf);
      for (const m of muts) {
        const at = m.at % (b.length + 1);
        if (m.op === 'insert') b = Buffer.concat([b.subarray(0, at), Buffer.from([m.byte]), b.subarray(at)]);
        else if (at < b.length && m.op === 'delete') b = Buffer.concat([b.subarray(0, at), b.subarray(at + 1)]);
        else if (at < b.length) b[at] = m.byte;
      }
      const evs = feedAll(new ResponseParser({ maxDepth: 8 }), splitAt(b, cs));
      for (const e of evs) if (e.kind !== 'error') printResponse(e);
      feedAll(new CommandParser(), splitAt(b, cs));
    }),
    { numRuns: 1000 },
  );
});

test('every truncation of a valid stream ends in TRUNCATED or at a frame boundary', () => {
  fc.assert(
    fc.property(stream, fc.nat(), (buf, at) => {
      const cut = at % (buf.length + 1);
      const evs = feedAll(new ResponseParser(), [buf.subarray(0, cut)]);
      const errors = evs.filter((e) => e.kind === 'error');
      assert.ok(errors.length <= 1);
      if (errors.length === 1) {
        assert.is(evs[evs.length - 1], errors[0]);
        assert.ok(errors[0]!.kind === 'error' && errors[0]!.error.code === 'TRUNCATED');
      }
      // Whatever completed is a prefix of the full parse.
      const full = responseSig(feedAll(new ResponseParser(), [buf]));
      const got = responseSig(evs.filter((e) => e.kind !== 'error'));
      assert.equal(got, full.slice(0, got.length));
    }),
    { numRuns: 500 },
  );
});

test.run();
