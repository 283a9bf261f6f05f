/**
 * Which Cyrus release the drop-in stands in for, where a flag means
 * different things across releases: `-o` was parsed and unused up to 3.8
 * (Cassandane 3.6.1 passes it to a rolling client that must keep retrying)
 * and means "connect once" from 3.9. The release is what cyr_buildinfo
 * reports beside the sync_client syncmux hands copybacks to (the Cyrus
 * installation of this master); 3.6's cyr_buildinfo has no version at all.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

export interface CyrusRelease {
  major: number;
  minor: number;
}

/** Pure: the release in cyr_buildinfo's JSON; {3, 6} for one that names none (3.6 and before); null for no JSON. */
export function parseBuildinfo(text: string): CyrusRelease | null {
  let info: unknown;
  try {
    info = JSON.parse(text);
  } catch {
    return null;
  }
  const version = (info as { version?: { CYRUS_VERSION?: unknown } } | null)?.version?.CYRUS_VERSION;
  if (typeof version !== 'string') return { major: 3, minor: 6 };
  const m = /^(\d+)\.(\d+)/.exec(version);
  return m ? { major: Number(m[1]), minor: Number(m[2]) } : null;
}

/** The release of the Cyrus whose sync_client is `client`; null when it cannot be told. */
export function cyrusReleaseOf(client: string | null): CyrusRelease | null {
  if (!client) return null;
  const buildinfo = path.join(path.dirname(client), 'cyr_buildinfo');
  if (!fs.existsSync(buildinfo)) return null;
  const run = spawnSync(buildinfo, [], { encoding: 'utf8', timeout: 10_000 });
  return run.status === 0 ? parseBuildinfo(run.stdout) : null;
}

/** Whether `-o` means "connect once": from 3.9, and where the release cannot be told (its meaning now). */
export function connectOnceHonoured(release: CyrusRelease | null): boolean {
  return release === null || release.major > 3 || (release.major === 3 && release.minor >= 9);
}
