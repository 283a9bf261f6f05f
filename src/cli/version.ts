/**
 * The version both commands print for --version: package.json's, read at
 * run time. Every entry point (src/cli/*.ts under tsx, dist/cli/*.js,
 * the dist/bin bundles, and the .deb's /usr/lib/syncmux/dist/bin) sits two
 * directories below the package root, beside which package.json ships.
 */
import fs from 'node:fs';

export function packageVersion(): string {
  try {
    const pkg = JSON.parse(fs.readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: string };
    return pkg.version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}
