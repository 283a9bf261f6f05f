/**
 * The Cyrus builds the harness can run a lab instance from, and how to run
 * their binaries: Debian's installed 3.6.1 (`/usr/lib/cyrus/bin`,
 * `cyrmaster`), and Debian's 3.10.1 backport unpacked by `./dev setup`
 * (lab/fetch-cyrus-backport.sh) into
 * `$SYNCMUX_CYRUS_CACHE/cyrus-<version>`, run with LD_LIBRARY_PATH on its
 * own libraries. Which build each instance uses defaults from the
 * environment: SYNCMUX_CYRUS (both), SYNCMUX_CYRUS_MASTER,
 * SYNCMUX_CYRUS_REPLICA, each `3.6` or `3.10`.
 */
import fs from 'node:fs';
import path from 'node:path';

export type CyrusVersion = '3.6' | '3.10';
export const CYRUS_VERSIONS: readonly CyrusVersion[] = ['3.6', '3.10'];

export interface CyrusInstall {
  version: CyrusVersion;
  /** The exact release, for labels: 3.6.1, 3.10.1. */
  release: string;
  /** Where imapd, sync_client, ctl_cyrusdb … live. */
  binDir: string;
  /** The cyrus master daemon (Debian's 3.6 calls it cyrmaster). */
  masterBinary: string;
  /** What a binary of this build needs in its environment (LD_LIBRARY_PATH), empty for the system's. */
  env: Record<string, string>;
  /** The unpacked tree, for a build that is not the system's. */
  prefix?: string;
}

export const SYSTEM_CYRUS: CyrusInstall = {
  version: '3.6',
  release: '3.6.1',
  binDir: '/usr/lib/cyrus/bin',
  masterBinary: '/usr/sbin/cyrmaster',
  env: {},
};

/** The backport's Debian version, from the file beside this module that ./dev setup also reads. */
export function backportVersion(): string {
  const text = fs.readFileSync(new URL('./cyrus-backport.env', import.meta.url), 'utf8');
  const m = /^CYRUS_BACKPORT_VERSION=(\S+)/m.exec(text);
  if (!m) throw new Error('cyrus-backport.env has no CYRUS_BACKPORT_VERSION');
  return m[1]!;
}

export function backportInstall(): CyrusInstall {
  const version = backportVersion();
  const prefix = path.join(process.env.SYNCMUX_CYRUS_CACHE || '/var/cache/syncmux', `cyrus-${version}`);
  return {
    version: '3.10',
    release: version.replace(/-.*/, ''),
    binDir: path.join(prefix, 'usr/lib/cyrus/bin'),
    masterBinary: path.join(prefix, 'usr/lib/cyrus/bin/master'),
    env: { LD_LIBRARY_PATH: path.join(prefix, 'usr/lib/x86_64-linux-gnu') },
    prefix,
  };
}

export function cyrusInstall(version: CyrusVersion): CyrusInstall {
  return version === '3.6' ? SYSTEM_CYRUS : backportInstall();
}

export function parseCyrusVersion(value: string, source: string): CyrusVersion {
  const v = value.trim();
  if ((CYRUS_VERSIONS as readonly string[]).includes(v)) return v as CyrusVersion;
  throw new Error(`${source}=${value}: expected one of ${CYRUS_VERSIONS.join(', ')}`);
}

/** The builds a lab uses when its options name none: SYNCMUX_CYRUS_MASTER / _REPLICA, else SYNCMUX_CYRUS, else 3.6. */
export function cyrusFromEnv(env: NodeJS.ProcessEnv = process.env): { master: CyrusVersion; replica: CyrusVersion } {
  const pick = (name: string): CyrusVersion => {
    if (env[name]) return parseCyrusVersion(env[name]!, name);
    if (env.SYNCMUX_CYRUS) return parseCyrusVersion(env.SYNCMUX_CYRUS, 'SYNCMUX_CYRUS');
    return '3.6';
  };
  return { master: pick('SYNCMUX_CYRUS_MASTER'), replica: pick('SYNCMUX_CYRUS_REPLICA') };
}

/** The environment to run one of this build's binaries with. */
export function cyrusEnv(install: CyrusInstall, base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  return Object.keys(install.env).length ? { ...base, ...install.env } : base;
}

/** The binaries a lab instance needs; null when present, else what is missing and how to get it. */
export function installMissingReason(install: CyrusInstall): string | null {
  const needed = ['imapd', 'lmtpd', 'sync_server', 'sync_client', 'ctl_cyrusdb'].map((b) => path.join(install.binDir, b));
  const missing = [...needed, install.masterBinary].filter((f) => !fs.existsSync(f));
  if (!missing.length) return null;
  if (install.prefix && !fs.existsSync(install.masterBinary)) {
    return `Cyrus ${install.release} is not unpacked in ${install.prefix}; run ./dev setup as root (it fetches the bookworm-backports .debs)`;
  }
  return `Cyrus ${install.release} is not installed (missing ${missing.join(', ')}); run ./dev setup as root`;
}
