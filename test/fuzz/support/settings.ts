/**
 * Fuzzing settings: a fixed default seed (printed, overridable with
 * FUZZ_SEED) so every run is reproducible, and the number of cases per
 * target (FUZZ_RUNS; the suite passes its own small default).
 */
export const DEFAULT_SEED = 20261207;

export function fuzzSeed(): number {
  const raw = process.env.FUZZ_SEED;
  if (raw === undefined || raw === '') return DEFAULT_SEED;
  const n = Number(raw);
  if (!Number.isInteger(n)) throw new Error(`FUZZ_SEED must be an integer, not ${raw}`);
  return n | 0;
}

export function fuzzRuns(fallback: number): number {
  const raw = process.env.FUZZ_RUNS;
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw.replace(/_/g, ''));
  if (!Number.isInteger(n) || n < 1) throw new Error(`FUZZ_RUNS must be a positive integer, not ${raw}`);
  return n;
}
