/**
 * Records a skipped test with its reason. uvu has no runtime skip, so a test
 * calls skip(name, reason) and returns; the runner (test/run-tests.mjs)
 * moves it from "passed" to "skipped" and the reason is printed here.
 */
import fs from 'node:fs';

export function skip(testName: string, reason: string): void {
  console.log(`  SKIP ${testName}: ${reason}`);
  const file = process.env.SYNCMUX_SKIP_FILE;
  if (file) fs.appendFileSync(file, `${testName}\t${reason}\n`);
}
