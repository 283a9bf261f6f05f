/**
 * The esbuild bundle of a shard worker and the engine it loads, which
 * `npm run build` writes to dist/worker-bundle (code the two share sits in
 * one chunk, so they still share every module instance and class). A new
 * worker thread then compiles three files instead of ~100 modules; each
 * shard is its own V8 isolate, so this is paid once per shard. The bundle
 * is used only when it is newer than the modules it was built from, so a
 * tsc-only rebuild falls back to them rather than run stale code.
 */
import fs from 'node:fs';

const bundleDir = new URL('../worker-bundle/', import.meta.url);
const BUNDLED_WORKER = new URL('shard/worker.js', bundleDir);
const BUNDLED_ENGINE = new URL('engine/shard-replicator.js', bundleDir);
// Relative paths that hold from dist/shard and from the CLI bundle in dist/bin alike.
const BUILT_FROM = [new URL('../shard/worker.js', import.meta.url), new URL('../engine/shard-replicator.js', import.meta.url)];

const mtimeMs = (url: URL): number => fs.statSync(url).mtimeMs;

/** The engine module for `syncmux run`: the bundled one when it is current, else `modules`. */
export function engineModule(modules: URL): URL {
  if (import.meta.url.endsWith('.ts')) return modules; // running from the sources
  try {
    const built = Math.min(mtimeMs(BUNDLED_WORKER), mtimeMs(BUNDLED_ENGINE));
    return BUILT_FROM.every((url) => mtimeMs(url) <= built) ? BUNDLED_ENGINE : modules;
  } catch {
    return modules; // no bundle (a build without esbuild)
  }
}

/** The worker script for a replicator module: the bundled engine runs in the bundled worker. */
export function workerScript(replicatorModule: string, modules: URL): URL {
  return replicatorModule === BUNDLED_ENGINE.href ? BUNDLED_WORKER : modules;
}
