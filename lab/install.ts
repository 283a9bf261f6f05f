/**
 * Makes sure Debian's Cyrus 3.6 packages are present for the harness, and
 * says clearly why not when they (or the other Cyrus build a lab asks for,
 * see cyrus-installs.ts) can't be. Installing needs root and apt; a
 * policy-rc.d is put in place for the duration so the postinst scripts
 * start no system cyrmaster, exim4 or saslauthd.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { SYSTEM_CYRUS, cyrusFromEnv, cyrusInstall, installMissingReason, type CyrusInstall } from './cyrus-installs.js';

/** The system's (Debian's 3.6) Cyrus; a lab instance may run another build (Instance.cyrus). */
export const CYRUS_BIN = SYSTEM_CYRUS.binDir;
export const CYRMASTER = SYSTEM_CYRUS.masterBinary;
export const SASLPASSWD2 = '/usr/sbin/saslpasswd2';
export const DEBIAN_PACKAGES = ['cyrus-imapd', 'cyrus-replication', 'cyrus-admin', 'cyrus-clients', 'sasl2-bin'];
const REQUIRED_FILES = [
  `${CYRUS_BIN}/imapd`, `${CYRUS_BIN}/lmtpd`, `${CYRUS_BIN}/sync_server`, `${CYRUS_BIN}/sync_client`,
  `${CYRUS_BIN}/ctl_cyrusdb`, CYRMASTER, SASLPASSWD2,
];

export function missingCyrusFiles(): string[] {
  return REQUIRED_FILES.filter((f) => !fs.existsSync(f));
}

/**
 * Returns null when Cyrus is usable, or the reason it is not. `installs` are
 * the builds the lab will run besides the system's; by default the ones
 * SYNCMUX_CYRUS / SYNCMUX_CYRUS_MASTER / SYNCMUX_CYRUS_REPLICA select.
 */
export function cyrusUnavailableReason(installs?: CyrusInstall[]): string | null {
  if (process.platform !== 'linux') return 'the Cyrus harness needs Linux with Debian packages';
  if (process.getuid?.() !== 0) return 'the Cyrus harness must run as root (cyrmaster binds and drops to the cyrus user)';
  const missing = missingCyrusFiles();
  if (missing.length) return `Cyrus is not installed (missing ${missing.join(', ')}); run: ./dev setup`;
  let wanted: CyrusInstall[];
  try {
    wanted = installs ?? [...new Set(Object.values(cyrusFromEnv()))].map(cyrusInstall);
  } catch (err) {
    return (err as Error).message;
  }
  for (const install of wanted) {
    const why = installMissingReason(install);
    if (why) return why;
  }
  try {
    execFileSync('id', ['cyrus'], { stdio: 'ignore' });
  } catch {
    return 'there is no cyrus user';
  }
  return null;
}

/** apt-get install the Debian packages, guarding against service starts. */
export function installCyrusPackages(log: (line: string) => void = console.log): void {
  if (missingCyrusFiles().length === 0) return;
  if (process.getuid?.() !== 0) throw new Error('installing Cyrus needs root (apt-get)');
  const policy = '/usr/sbin/policy-rc.d';
  const addedPolicy = !fs.existsSync(policy);
  if (addedPolicy) fs.writeFileSync(policy, '#!/bin/sh\nexit 101\n', { mode: 0o755 });
  try {
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    log('apt-get update');
    run('apt-get', ['update', '-q'], env);
    log(`apt-get install ${DEBIAN_PACKAGES.join(' ')}`);
    run('apt-get', ['install', '-y', '-q', '--no-install-recommends', ...DEBIAN_PACKAGES], env);
  } finally {
    if (addedPolicy) fs.rmSync(policy, { force: true });
  }
  const missing = missingCyrusFiles();
  if (missing.length) throw new Error(`Cyrus install incomplete: missing ${missing.join(', ')}`);
}

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv): void {
  const result = spawnSync(cmd, args, { env, stdio: ['ignore', 'inherit', 'inherit'] });
  if (result.status !== 0) throw new Error(`${cmd} ${args[0]} failed with exit ${result.status}`);
}
