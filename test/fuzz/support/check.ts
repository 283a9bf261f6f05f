/**
 * Runs one fuzz target under fast-check with a fixed seed: every case must
 * finish within CASE_MS, throw nothing but the target's typed errors, and
 * trip no guard (allocation, read bounds, read budget). On failure the
 * shrunk input and the seed/path to replay it are in the error.
 */
import fc from 'fast-check';
import { CyrusFileError } from '../../../src/cyrus/file-error.js';
import { CASE_MS, installAllocationGuard, takeViolations } from './guards.js';
import type { FuzzTarget } from './targets.js';

export interface FuzzReport {
  readonly target: string;
  readonly runs: number;
  readonly ms: number;
  /** Cases that ended in one of the allowed typed errors. */
  readonly rejected: number;
}

export function describeError(e: unknown): string {
  return e instanceof Error ? `${e.constructor.name}: ${e.message}` : String(e);
}

/** One case: undefined if it held, else what went wrong. */
export function checkCase(target: FuzzTarget, bytes: Buffer): { problem?: string; rejected: boolean } {
  takeViolations();
  const started = performance.now();
  let rejected = false;
  let problem: string | undefined;
  try {
    target.run(bytes);
  } catch (e) {
    const cause = e instanceof Error ? e.cause : undefined;
    if (!target.allowed.some((cls) => e instanceof cls)) problem = `untyped error ${describeError(e)}${e instanceof Error && e.stack ? `\n${e.stack.split('\n').slice(1, 6).join('\n')}` : ''}`;
    // The boundary's safety net turned a decoder's RangeError/TypeError into a typed error: still a decoder bug.
    else if (cause instanceof RangeError || cause instanceof TypeError) problem = `converted ${describeError(cause)}\n${cause.stack?.split('\n').slice(1, 6).join('\n')}`;
    else if (target.namesFile && e instanceof CyrusFileError && !e.path) problem = `error without the file's path: ${describeError(e)}`;
    else rejected = true;
  }
  const ms = performance.now() - started;
  const violations = takeViolations();
  if (violations.length) problem = `guard: ${violations.join('; ')}${problem ? ` (then ${problem})` : ''}`;
  else if (ms > CASE_MS) problem = `slow: ${ms.toFixed(0)} ms`;
  return { problem, rejected };
}

export function fuzzTarget(target: FuzzTarget, runs: number, seed: number): FuzzReport {
  installAllocationGuard();
  let rejected = 0;
  const started = performance.now();
  fc.assert(
    fc.property(target.inputs, (input) => {
      const r = checkCase(target, input.bytes);
      if (r.rejected) rejected++;
      if (r.problem) throw new Error(`${target.name}: ${r.problem}\ninput (base64): ${input.bytes.toString('base64')}`);
    }),
    { numRuns: runs, seed, endOnFailure: false },
  );
  return { target: target.name, runs, ms: performance.now() - started, rejected };
}
