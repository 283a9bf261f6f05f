/**
 * Mutations of real file images: bit flips, byte and word overwrites with
 * boundary values (0, 2^31, 2^32-1, the file size and its neighbours, 2^63
 * …), truncation, deletion, insertion, duplication of a region, appended
 * garbage, decimal numbers swapped for boundary ones (text formats: literal
 * sizes, seen and quota fields), and now and then wholly random bytes. A target may repair its
 * CRCs after mutating, so the damage reaches the logic behind the checks.
 */
import fc from 'fast-check';

export type Mutation =
  | { readonly k: 'flip'; readonly at: number; readonly bit: number }
  | { readonly k: 'byte'; readonly at: number; readonly v: number }
  | { readonly k: 'word'; readonly at: number; readonly width: 1 | 2 | 4 | 8; readonly v: bigint | 'size' | 'size+8' | 'size-8'; readonly aligned: boolean }
  | { readonly k: 'truncate'; readonly at: number }
  | { readonly k: 'cut'; readonly at: number; readonly len: number }
  | { readonly k: 'insert'; readonly at: number; readonly bytes: Uint8Array }
  | { readonly k: 'dup'; readonly from: number; readonly len: number; readonly to: number }
  | { readonly k: 'number'; readonly at: number; readonly text: string };

/** Decimal numbers for the text formats (literal sizes, seen fields, quota values, dlist numbers). */
const DECIMALS = ['0', '1', '-1', '255', '65536', '2147483647', '2147483648', '4294967295', '4294967296', '9007199254740993', '18446744073709551616', '99999999999999999999999', '00000000001'];

const INTERESTING: readonly bigint[] = [
  0n, 1n, 2n, 7n, 8n, 0x1fn, 0x20n, 0x7fn, 0x80n, 0xffn, 0x100n, 0xfffen, 0xffffn, 0x10000n,
  0x7fffffffn, 0x80000000n, 0xfffffffen, 0xffffffffn, 0x100000000n, 2n ** 53n, 2n ** 63n, 2n ** 64n - 1n,
];

const pos = fc.nat({ max: 1 << 20 });
const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ k: fc.constant('flip' as const), at: pos, bit: fc.nat({ max: 7 }) }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('byte' as const), at: pos, v: fc.nat({ max: 255 }) }) },
  {
    weight: 4,
    arbitrary: fc.record({
      k: fc.constant('word' as const),
      at: pos,
      width: fc.constantFrom(1 as const, 2 as const, 4 as const, 8 as const),
      v: fc.oneof(fc.constantFrom(...INTERESTING), fc.constantFrom('size' as const, 'size+8' as const, 'size-8' as const), fc.bigInt({ min: 0n, max: 2n ** 64n - 1n })),
      aligned: fc.boolean(),
    }),
  },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('truncate' as const), at: pos }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('cut' as const), at: pos, len: fc.nat({ max: 64 }) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('insert' as const), at: pos, bytes: fc.uint8Array({ minLength: 1, maxLength: 24 }) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('dup' as const), from: pos, len: fc.nat({ max: 128 }), to: pos }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('number' as const), at: pos, text: fc.constantFrom(...DECIMALS) }) },
);

const isDigit = (c: number): boolean => c >= 0x30 && c <= 0x39;

function writeWord(b: Buffer, at: number, width: number, v: bigint): void {
  for (let i = width - 1; i >= 0; i--, v >>= 8n) b[at + i] = Number(v & 0xffn);
}

export function applyMutation(src: Buffer, m: Mutation): Buffer {
  const len = src.length;
  const at = (n: number, room = 0): number => (len > room ? n % (len - room + 1) : 0);
  switch (m.k) {
    case 'flip': {
      if (len === 0) return src;
      const b = Buffer.from(src);
      b[m.at % len]! ^= 1 << m.bit;
      return b;
    }
    case 'byte': {
      if (len === 0) return src;
      const b = Buffer.from(src);
      b[m.at % len] = m.v;
      return b;
    }
    case 'word': {
      if (len < m.width) return src;
      const b = Buffer.from(src);
      let o = at(m.at, m.width);
      if (m.aligned) o -= o % m.width;
      const v = m.v === 'size' ? BigInt(len) : m.v === 'size+8' ? BigInt(len + 8) : m.v === 'size-8' ? BigInt(Math.max(0, len - 8)) : m.v;
      writeWord(b, o, m.width, v & ((1n << BigInt(8 * m.width)) - 1n));
      return b;
    }
    case 'truncate':
      return src.subarray(0, at(m.at));
    case 'cut': {
      const o = at(m.at);
      return Buffer.concat([src.subarray(0, o), src.subarray(o + m.len)]);
    }
    case 'insert': {
      const o = at(m.at);
      return Buffer.concat([src.subarray(0, o), m.bytes, src.subarray(o)]);
    }
    case 'number': {
      // The digit run at or after `at` (wrapping), or an insertion where there is none.
      const o = at(m.at);
      let s = -1;
      for (let i = 0; i < len && s < 0; i++) if (isDigit(src[(o + i) % len]!)) s = (o + i) % len;
      if (s < 0) return Buffer.concat([src.subarray(0, o), Buffer.from(m.text), src.subarray(o)]);
      while (s > 0 && isDigit(src[s - 1]!)) s--;
      let e = s;
      while (e < len && isDigit(src[e]!)) e++;
      return Buffer.concat([src.subarray(0, s), Buffer.from(m.text), src.subarray(e)]);
    }
    case 'dup': {
      const from = at(m.from);
      const to = at(m.to);
      return Buffer.concat([src.subarray(0, to), src.subarray(from, from + m.len), src.subarray(to)]);
    }
  }
}

export interface MutatedInput {
  readonly seed: number;
  readonly mutations: readonly Mutation[];
  readonly fixCrcs: boolean;
  readonly bytes: Buffer;
}

/**
 * Inputs derived from `seeds`: one to four mutations of one seed, CRCs
 * repaired afterwards half of the time when `fixCrcs` is given; one case
 * in ten is random bytes, possibly behind the seed's first bytes (its magic).
 */
export function mutatedInputs(seeds: readonly Buffer[], fixCrcs?: (b: Buffer) => void): fc.Arbitrary<MutatedInput> {
  const derived = fc
    .record({
      seed: fc.nat({ max: seeds.length - 1 }),
      mutations: fc.array(mutation, { minLength: 1, maxLength: 4 }),
      fixCrcs: fixCrcs ? fc.boolean() : fc.constant(false),
    })
    .map(({ seed, mutations, fixCrcs: fix }) => {
      let bytes = seeds[seed]!;
      for (const m of mutations) bytes = applyMutation(bytes, m);
      if (fix && fixCrcs) {
        bytes = Buffer.from(bytes);
        fixCrcs(bytes);
      }
      return { seed, mutations, fixCrcs: fix, bytes };
    });
  const random = fc
    .record({ seed: fc.nat({ max: seeds.length - 1 }), keep: fc.nat({ max: 160 }), tail: fc.uint8Array({ maxLength: 512 }) })
    .map(({ seed, keep, tail }) => ({ seed, mutations: [], fixCrcs: false, bytes: Buffer.concat([seeds[seed]!.subarray(0, keep), tail]) }));
  return fc.oneof({ weight: 9, arbitrary: derived }, { weight: 1, arbitrary: random });
}
