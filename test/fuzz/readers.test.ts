// Short fuzz run of every reader (see test/fuzz/support/targets.ts): a few
// thousand mutated real images per target, seeded (FUZZ_SEED, printed) and
// reproducible. `npm run fuzz` runs the long version.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { fuzzTarget } from './support/check.js';
import { fuzzRuns, fuzzSeed } from './support/settings.js';
import { TARGETS } from './support/targets.js';

const seed = fuzzSeed();
const runs = fuzzRuns(4000);
console.log(`fuzz seed ${seed} (FUZZ_SEED), ${runs} cases per target (FUZZ_RUNS)`);

for (const target of TARGETS) {
  test(`fuzz ${target.name}: typed errors only, bounded reads and allocations`, () => {
    const r = fuzzTarget(target, runs, seed);
    console.log(`  ${r.target}: ${r.runs} cases, ${r.rejected} rejected with a typed error, ${(r.ms / 1000).toFixed(1)} s`);
    assert.ok(r.runs === runs);
  });
}

test.run();
