/**
 * A throwaway Cyrus master and replica on loopback, in a temp dir, on free
 * ports: configs, sasldb, both cyrus masters, and stopping them by pid. Each
 * instance runs its own Cyrus build (LabOptions.masterCyrus/replicaCyrus,
 * cyrus-installs.ts), and everything run against an instance runs from
 * that build. The master logs every change to the sync log of each
 * configured channel; the replica runs sync_server (csync) and imapd (IMAP
 * replication).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { cyrusEnv, cyrusFromEnv, cyrusInstall, type CyrusInstall, type CyrusVersion } from './cyrus-installs.js';
import { SASLPASSWD2, cyrusUnavailableReason } from './install.js';
import { cyrusConf, imapdConf, type DaemonEntry, type InstancePaths, type Listeners } from './lab-config.js';
import { makeTestCertificates, type TestCertificates } from './test-ca.js';

export interface LabOptions {
  /** Sync-log channels on the master; the first is the one replicated. Default ['replica']. */
  channels?: string[];
  /** Use the replica's imapd (IMAP-embedded sync) instead of sync_server. Default false. */
  syncTryImap?: boolean;
  virtdomains?: boolean;
  /** Extra imapd.conf lines for the master. */
  masterExtra?: string[];
  /** Extra imapd.conf lines for the replica (e.g. `debug_writefail_guid`). */
  replicaExtra?: string[];
  /** Extra imapd.conf lines for both instances (features that must match, e.g. `conversations: yes`). */
  bothExtra?: string[];
  /** Give the master an archive partition (`archive_enabled`, <dir>/master/archive), for cyr_expire -A. */
  archive?: boolean;
  /** Also run timsieved (ManageSieve) on the master, on `master.ports.sieve`. */
  sieve?: boolean;
  /** Give the replica a server certificate from a throwaway CA (STARTTLS). */
  tls?: boolean;
  /** Keep the directory after destroy(), for post-mortems. */
  keep?: boolean;
  /** The replica's syncserver maxchild in cyrus.conf (default 20). */
  syncMaxChild?: number;
  /** cyrus.conf DAEMON entries for the master's cyrmaster (e.g. a syncmux-client -r), started with it. */
  masterDaemons?: DaemonEntry[];
  /** Extra environment for the replica's cyrmaster and so its services (the bench slows the replica's fsync with it). */
  replicaEnv?: Record<string, string>;
  /** The master's Cyrus build; default SYNCMUX_CYRUS_MASTER, else SYNCMUX_CYRUS, else 3.6. */
  masterCyrus?: CyrusVersion;
  /** The replica's Cyrus build; default SYNCMUX_CYRUS_REPLICA, else SYNCMUX_CYRUS, else 3.6. */
  replicaCyrus?: CyrusVersion;
}

export interface Instance {
  name: 'master' | 'replica';
  /** The Cyrus build this instance runs. */
  cyrus: CyrusInstall;
  servername: string;
  paths: InstancePaths;
  ports: Listeners;
  pidFile: string;
  logFile: string;
}

export const ADMIN = { user: 'admin', password: 'adminpw' } as const;
export const SYNC_USER = { user: 'repl', password: 'replpw' } as const;

const DIR_MODE = 0o750;
const live = new Set<CyrusLab>();
process.on('exit', () => {
  for (const lab of live) lab.killNow();
});

export class CyrusLab {
  readonly channel: string;
  /** Set when started with `tls: true`. */
  certificates: TestCertificates | null = null;

  private constructor(
    readonly dir: string,
    readonly master: Instance,
    readonly replica: Instance,
    readonly options: LabOptions,
  ) {
    this.channel = options.channels?.[0] ?? 'replica';
  }

  static async start(options: LabOptions = {}): Promise<CyrusLab> {
    const fromEnv = cyrusFromEnv();
    const masterCyrus = cyrusInstall(options.masterCyrus ?? fromEnv.master);
    const replicaCyrus = cyrusInstall(options.replicaCyrus ?? fromEnv.replica);
    const reason = cyrusUnavailableReason([masterCyrus, replicaCyrus]);
    if (reason) throw new Error(reason);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'syncmux-lab-'));
    fs.chmodSync(dir, 0o755); // cyrus must traverse it
    const [mImap, mLmtp, rImap, rLmtp, rSync, mSieve] = await freePorts(options.sieve ? 6 : 5);
    const master = layout(dir, 'master', 'syncmux-master', masterCyrus, { imap: mImap!, lmtp: mLmtp!, ...(mSieve ? { sieve: mSieve } : {}) });
    const replica = layout(dir, 'replica', 'syncmux-replica', replicaCyrus, { imap: rImap!, lmtp: rLmtp!, sync: rSync! });
    const lab = new CyrusLab(dir, master, replica, options);
    lab.writeInstance(master, [ADMIN.user], lab.masterReplicationConf(rSync!, rImap!));
    const replicaExtra = ['sync_log: no', ...(options.bothExtra ?? []), ...(options.replicaExtra ?? [])];
    if (options.tls) {
      lab.certificates = makeTestCertificates(path.join(dir, 'tls'));
      execFileSync('chown', ['-R', 'cyrus:mail', path.join(dir, 'tls')]);
      replicaExtra.push(`tls_server_cert: ${lab.certificates.certFile}`, `tls_server_key: ${lab.certificates.keyFile}`);
    }
    lab.writeInstance(replica, [ADMIN.user, SYNC_USER.user], replicaExtra);
    lab.setPassword(master, ADMIN.user, ADMIN.password);
    lab.setPassword(replica, ADMIN.user, ADMIN.password);
    lab.setPassword(replica, SYNC_USER.user, SYNC_USER.password);
    live.add(lab);
    try {
      lab.startInstance(master);
      lab.startInstance(replica);
      await waitForPorts([mImap!, mLmtp!, rImap!, rLmtp!, rSync!, ...(mSieve ? [mSieve] : [])], 30_000);
    } catch (err) {
      await lab.destroy();
      throw err;
    }
    return lab;
  }

  private masterReplicationConf(syncPort: number, imapPort: number): string[] {
    const channels = this.options.channels ?? ['replica'];
    const c = this.channel;
    const imap = this.options.syncTryImap ?? false;
    return [
      'sync_log: yes',
      `sync_log_channels: ${channels.join(' ')}`,
      `${c}_sync_host: 127.0.0.1`,
      `${c}_sync_port: ${imap ? imapPort : syncPort}`,
      // Cyrus reads the channel-prefixed form with atoi(): 'yes' would count as off.
      `${c}_sync_try_imap: ${imap ? '1' : '0'}`,
      `${c}_sync_authname: ${SYNC_USER.user}`,
      `${c}_sync_password: ${SYNC_USER.password}`,
      `${c}_sync_shutdown_file: ${path.join(this.dir, 'master', 'run', `sync-${c}.shutdown`)}`,
      ...(this.options.archive ? ['archive_enabled: yes', `archivepartition-default: ${this.archiveDir()}`] : []),
      ...this.copybackClientConf(),
      ...(this.options.masterExtra ?? []),
      ...(this.options.bothExtra ?? []),
    ];
  }

  /**
   * syncmux hands copybacks to `syncmux_copyback_client` (default: the
   * system's sync_client). A master of another build gets its own
   * sync_client instead, through a wrapper that sets its environment.
   */
  private copybackClientConf(): string[] {
    const cyrus = this.master.cyrus;
    const setByTest = [...(this.options.masterExtra ?? []), ...(this.options.bothExtra ?? [])].some((l) => /^syncmux_copyback_client\s*:/.test(l));
    if (setByTest || Object.keys(cyrus.env).length === 0) return [];
    const exports = Object.entries(cyrus.env).map(([k, v]) => `export ${k}=${shellQuote(v)}\n`).join('');
    // cyr_buildinfo beside it, as in an installed Cyrus's bin directory: syncmux-client reads the release there.
    for (const tool of ['sync_client', 'cyr_buildinfo']) {
      const wrapper = path.join(this.master.paths.root, tool);
      fs.writeFileSync(wrapper, `#!/bin/sh\n# Cyrus ${cyrus.release}'s ${tool}, for syncmux\n${exports}exec ${shellQuote(path.join(cyrus.binDir, tool))} "$@"\n`, { mode: 0o755 });
    }
    return [`syncmux_copyback_client: ${path.join(this.master.paths.root, 'sync_client')}`];
  }

  /** The master's archive partition (LabOptions.archive). */
  archiveDir(): string {
    return path.join(this.master.paths.root, 'archive');
  }

  private writeInstance(inst: Instance, admins: string[], extra: string[]): void {
    const p = inst.paths;
    if (inst.name === 'master' && this.options.archive) {
      fs.mkdirSync(this.archiveDir(), { recursive: true, mode: DIR_MODE });
      execFileSync('chown', ['cyrus:mail', this.archiveDir()]);
    }
    for (const sub of ['db', 'lock', 'log', 'msg', 'proc', 'quota', 'socket', 'sync', 'user']) {
      fs.mkdirSync(path.join(p.configDirectory, sub), { recursive: true });
    }
    fs.mkdirSync(p.spool, { recursive: true });
    fs.mkdirSync(p.sieveDir, { recursive: true });
    fs.mkdirSync(path.join(p.root, 'run'), { recursive: true });
    const text = imapdConf({ servername: inst.servername, admins, paths: p, virtdomains: !!this.options.virtdomains, extra });
    fs.writeFileSync(p.imapdConf, text, { mode: 0o644 });
    const daemons = inst.name === 'master' ? this.options.masterDaemons : undefined;
    fs.writeFileSync(p.cyrusConf, cyrusConf(p.imapdConf, inst.ports, { binDir: inst.cyrus.binDir, syncMaxChild: this.options.syncMaxChild, daemons }), { mode: 0o644 });
    execFileSync('chown', ['-R', 'cyrus:mail', p.configDirectory, p.spool, p.sieveDir, path.join(p.root, 'run')]);
    for (const d of [p.configDirectory, p.spool, p.sieveDir]) fs.chmodSync(d, DIR_MODE);
  }

  setPassword(inst: Instance, user: string, password: string): void {
    const r = spawnSync(SASLPASSWD2, ['-p', '-c', '-f', inst.paths.sasldb, '-u', inst.servername, user], {
      input: password,
      encoding: 'utf8',
    });
    if (r.status !== 0) throw new Error(`saslpasswd2 failed: ${r.stderr}`);
    execFileSync('chown', ['cyrus:mail', inst.paths.sasldb]);
    fs.chmodSync(inst.paths.sasldb, 0o640);
  }

  private startInstance(inst: Instance): void {
    const extraEnv = inst.name === 'replica' ? this.options.replicaEnv : undefined;
    const r = spawnSync(inst.cyrus.masterBinary, ['-C', inst.paths.imapdConf, '-M', inst.paths.cyrusConf, '-p', inst.pidFile, '-d', '-L', inst.logFile], {
      encoding: 'utf8',
      env: cyrusEnv(inst.cyrus, extraEnv ? { ...process.env, ...extraEnv } : process.env),
    });
    if (r.status !== 0) throw new Error(`Cyrus ${inst.cyrus.release} master (${inst.name}) failed: ${r.stderr}; see ${inst.logFile}`);
  }

  /** Path of a channel's sync log on the master. */
  syncLogDir(channel = this.channel): string {
    return path.join(this.master.paths.configDirectory, 'sync', channel);
  }

  /** Runs a tool of the instance's Cyrus build against it, as root (it drops to cyrus); `input` feeds stdin. */
  tool(inst: Instance, name: string, args: string[], opts: { check?: boolean; input?: string; timeoutMs?: number } = {}): { status: number; stdout: string; stderr: string } {
    const r = spawnSync(path.join(inst.cyrus.binDir, name), ['-C', inst.paths.imapdConf, ...args], {
      // A -v -v trace of a large store runs to many megabytes: past maxBuffer the tool would be killed.
      encoding: 'utf8', timeout: opts.timeoutMs ?? 300_000, maxBuffer: 1 << 30, input: opts.input, env: cyrusEnv(inst.cyrus),
    });
    // Killed (timeout, or output past maxBuffer): status -1, and why on stderr.
    const result = { status: r.status ?? -1, stdout: r.stdout ?? '', stderr: `${r.stderr ?? ''}${r.error ? `\n${r.error.message}` : ''}` };
    if (opts.check !== false && result.status !== 0) {
      throw new Error(`${name} ${args.join(' ')} exited ${result.status}: ${result.stderr.trim()}`);
    }
    return result;
  }

  /** Stock sync_client (the master's build) against this lab's channel; `args` follow -C and -n. */
  stockSyncClient(args: string[], opts: { check?: boolean; timeoutMs?: number } = {}): { status: number; stdout: string; stderr: string } {
    return this.tool(this.master, 'sync_client', ['-n', this.channel, ...args], opts);
  }

  async stop(): Promise<void> {
    await Promise.all([stopByPidFile(this.master.pidFile), stopByPidFile(this.replica.pidFile)]);
    live.delete(this);
  }

  async destroy(): Promise<void> {
    await this.stop();
    if (!this.options.keep && !process.env.SYNCMUX_KEEP_LAB) fs.rmSync(this.dir, { recursive: true, force: true });
  }

  /** Synchronous last resort from the process 'exit' hook. */
  killNow(): void {
    for (const inst of [this.master, this.replica]) {
      const pid = readPid(inst.pidFile);
      if (pid) tryKill(pid, 'SIGTERM');
    }
  }

  /** Stops and restarts one instance (e.g. to test reconnects). */
  async restart(inst: Instance): Promise<void> {
    await stopByPidFile(inst.pidFile);
    this.startInstance(inst);
    await waitForPorts(Object.values(inst.ports).filter((p): p is number => !!p), 30_000);
  }

  /**
   * Cyrus's documented in-place upgrade of one instance: stop it, start it
   * again from another build on the same files (its cyrus.conf names the
   * new build's services). Mailboxes keep their on-disk versions until
   * something rewrites them (`reconstruct -V max`).
   */
  async upgrade(inst: Instance, version: CyrusVersion): Promise<void> {
    await stopByPidFile(inst.pidFile);
    inst.cyrus = cyrusInstall(version);
    const p = inst.paths;
    fs.writeFileSync(p.cyrusConf, cyrusConf(p.imapdConf, inst.ports, { binDir: inst.cyrus.binDir, syncMaxChild: this.options.syncMaxChild }), { mode: 0o644 });
    if (inst === this.master) {
      const conf = fs.readFileSync(p.imapdConf, 'utf8').replace(/^syncmux_copyback_client: .*\n/m, '');
      fs.writeFileSync(p.imapdConf, conf + this.copybackClientConf().map((l) => `${l}\n`).join(''));
    }
    this.startInstance(inst);
    await waitForPorts(Object.values(inst.ports).filter((port): port is number => !!port), 30_000);
  }

  async stopInstance(inst: Instance): Promise<void> {
    await stopByPidFile(inst.pidFile);
  }
}

function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

function layout(dir: string, name: 'master' | 'replica', servername: string, cyrus: CyrusInstall, ports: Listeners): Instance {
  const root = path.join(dir, name);
  fs.mkdirSync(root, { recursive: true });
  fs.chmodSync(root, 0o755);
  return {
    name,
    cyrus,
    servername,
    ports,
    pidFile: path.join(root, 'run', 'master.pid'),
    logFile: path.join(root, 'master.log'),
    paths: {
      root,
      imapdConf: path.join(root, 'imapd.conf'),
      cyrusConf: path.join(root, 'cyrus.conf'),
      configDirectory: path.join(root, 'conf'),
      spool: path.join(root, 'spool'),
      sieveDir: path.join(root, 'sieve'),
      sasldb: path.join(root, 'sasldb2'),
    },
  };
}

export async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from({ length: count }, () => new Promise<net.Server>((resolve, reject) => {
      const server = net.createServer();
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve(server));
    })),
  );
  const ports = servers.map((s) => (s.address() as net.AddressInfo).port);
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  return ports;
}

export async function waitForPorts(ports: number[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (const port of ports) {
    for (;;) {
      const ok = await new Promise<boolean>((resolve) => {
        const s = net.connect(port, '127.0.0.1');
        s.once('connect', () => { s.destroy(); resolve(true); });
        s.once('error', () => resolve(false));
      });
      if (ok) break;
      if (Date.now() > deadline) throw new Error(`port ${port} did not open within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

/** Pids of the processes with `arg` as one of their arguments (an instance's imapd.conf: its cyrus master and every service it forked). */
export function pidsWithArgument(arg: string): number[] {
  const pids: number[] = [];
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (fs.readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0').includes(arg)) pids.push(Number(name));
    } catch {
      // exited while we looked
    }
  }
  return pids;
}

function readPid(file: string): number | null {
  try {
    const pid = Number(fs.readFileSync(file, 'utf8').trim());
    return pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

function tryKill(pid: number, signal: NodeJS.Signals | 0): boolean {
  try {
    process.kill(pid, signal);
    return true;
  } catch {
    return false;
  }
}

async function stopByPidFile(file: string): Promise<void> {
  const pid = readPid(file);
  if (!pid) return;
  tryKill(pid, 'SIGTERM');
  const deadline = Date.now() + 10_000;
  while (tryKill(pid, 0) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  if (tryKill(pid, 0)) tryKill(pid, 'SIGKILL');
  fs.rmSync(file, { force: true });
  fs.rmSync(`${file}.lock`, { force: true });
}
