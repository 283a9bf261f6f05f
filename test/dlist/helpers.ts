/**
 * Shared test helpers for the DLIST codec: fixture access and a plain-data
 * view of trees (so deep-equality ignores how literal bodies were chunked).
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chunksToBuffer } from '../../src/dlist/index.js';
import type { Node, OutChunk } from '../../src/dlist/index.js';

const here = path.dirname(fileURLToPath(import.meta.url));

export const SCENARIOS: readonly string[] = fs
  .readdirSync(path.join(here, 'fixtures'))
  .filter((f) => f.endsWith('.client.wire'))
  .map((f) => f.replace(/\.client\.wire$/, ''))
  .sort();

export function wire(scenario: string, side: 'client' | 'server'): Buffer {
  return fs.readFileSync(path.join(here, 'fixtures', `${scenario}.${side}.wire`));
}

export function bin(chunks: readonly OutChunk[]): string {
  return chunksToBuffer(chunks).toString('latin1');
}

export type Plain = null | string | { flag: string } | Plain[] | { kv: Array<[string, Plain]> } | { file: [string, string, number, string] };

export function plain(n: Node): Plain {
  switch (n.kind) {
    case 'nil':
      return null;
    case 'atom':
      return n.raw;
    case 'flag':
      return { flag: n.raw };
    case 'list':
      return n.items.map(plain);
    case 'kvlist':
      return { kv: n.keys.map((k, i) => [k, plain(n.values[i]!)] as [string, Plain]) };
    case 'file':
      return { file: [n.partition, n.guid, n.size, n.asBytes()?.toString('latin1') ?? '<stream>'] };
  }
}

/** Splits a buffer at the given cut points (sorted, deduplicated, in range). */
export function splitAt(buf: Buffer, cuts: readonly number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => Math.max(0, Math.min(buf.length, c))))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let prev = 0;
  for (const p of points) {
    out.push(buf.subarray(prev, p));
    prev = p;
  }
  out.push(buf.subarray(prev));
  return out;
}

/** assert.throws that checks the class (uvu calls a function `expects` as a predicate). */
export function throwsA(fn: () => unknown, cls: abstract new (...args: never[]) => Error, msg?: string): void {
  let thrown: unknown = undefined;
  try {
    fn();
  } catch (e) {
    thrown = e;
  }
  if (!(thrown instanceof cls)) {
    throw new Error(`${msg ?? 'expected throw'}: wanted ${cls.name}, got ${thrown === undefined ? 'no exception' : String(thrown)}`);
  }
}
