// The long fuzz run (`npm run fuzz`): every target of test/fuzz/support/
// targets.ts with FUZZ_RUNS cases (default 1,000,000) under FUZZ_SEED
// (default fixed, printed). FUZZ_TARGETS=a,b limits it to some targets.
// Prints one line per target and a summary; exits 1 on any failure, with
// the shrunk input and the seed and path fast-check needs to replay it.
import { describeError, fuzzTarget, type FuzzReport } from './support/check.js';
import { fuzzRuns, fuzzSeed } from './support/settings.js';
import { TARGETS } from './support/targets.js';

const seed = fuzzSeed();
const runs = fuzzRuns(1_000_000);
const only = process.env.FUZZ_TARGETS ? new Set(process.env.FUZZ_TARGETS.split(',')) : null;
const targets = TARGETS.filter((t) => !only || only.has(t.name));
console.log(`fuzz: seed ${seed} (FUZZ_SEED), ${runs} cases per target (FUZZ_RUNS), ${targets.length} targets`);

const reports: FuzzReport[] = [];
const failures: string[] = [];
const started = performance.now();
for (const target of targets) {
  try {
    const r = fuzzTarget(target, runs, seed);
    reports.push(r);
    console.log(`ok   ${r.target.padEnd(16)} ${r.runs} cases  ${(r.ms / 1000).toFixed(1)} s  ${r.rejected} rejected with a typed error`);
  } catch (e) {
    failures.push(target.name);
    const cause = e instanceof Error && e.cause instanceof Error ? e.cause.message : '';
    console.log(`FAIL ${target.name}\n${describeError(e)}\n${cause}`);
  }
}
const total = reports.reduce((n, r) => n + r.runs, 0);
console.log(`fuzz: ${total} cases in ${((performance.now() - started) / 1000).toFixed(1)} s, ${failures.length} failing target(s)${failures.length ? `: ${failures.join(', ')}` : ''}`);
process.exitCode = failures.length ? 1 : 0;
