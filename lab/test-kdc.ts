/**
 * A throwaway MIT Kerberos realm on loopback for GSSAPI tests: a fresh KDC
 * database (kdb5_util create -s) in a temp dir, krb5kdc on a free port
 * bound to 127.0.0.1 only, principals and keytabs from kadmin.local, and a
 * krb5.conf for clients and the replica (KRB5_CONFIG). Stopped by pid.
 *
 * The krb5.conf turns off DNS and reverse lookups, and sets
 * ignore_acceptor_hostname so the replica (whose Cyrus servername is not
 * the address the client dials) accepts a ticket for any of its keytab's
 * service principals.
 *
 * Keys are AES-128 by default: libsasl2's GSSAPI rates a context at its
 * key length, and stock's client allows at most SSF 255, so with AES-256
 * keys a client as stock can never pick the privacy layer (it settles for
 * integrity, or fails when the replica demands more). Pass `enctypes` for
 * AES-256 to see that.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePorts, waitForPorts } from './cyrus-lab.js';

export const KDC_BIN = { krb5kdc: '/usr/sbin/krb5kdc', kdb5_util: '/usr/sbin/kdb5_util', kadmin: '/usr/sbin/kadmin.local' } as const;

/** Why a KDC cannot be started here (packages missing, not root), or null. */
export function kdcUnavailableReason(): string | null {
  for (const bin of Object.values(KDC_BIN)) if (!fs.existsSync(bin)) return `${bin} missing (apt-get install krb5-kdc krb5-admin-server)`;
  if (!fs.existsSync('/usr/lib/x86_64-linux-gnu/sasl2/libgssapiv2.so.2') && !fs.readdirSync('/usr/lib').some((d) => fs.existsSync(`/usr/lib/${d}/sasl2/libgssapiv2.so.2`))) {
    return 'the SASL GSSAPI plugin is missing (apt-get install libsasl2-modules-gssapi-mit)';
  }
  if (process.getuid?.() !== 0) return 'the KDC test needs root (keytabs owned by cyrus)';
  return null;
}

const live = new Set<TestKdc>();
process.on('exit', () => {
  for (const kdc of live) kdc.stop();
});

export class TestKdc {
  private constructor(
    readonly dir: string,
    readonly realm: string,
    readonly port: number,
    /** krb5.conf for everyone (KRB5_CONFIG). */
    readonly krb5Conf: string,
    private readonly kdcConf: string,
    private child: ChildProcess | null,
  ) {}

  static async start(realm = 'SYNCMUX.TEST', o: { enctypes?: string } = {}): Promise<TestKdc> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'syncmux-kdc-'));
    fs.chmodSync(dir, 0o755);
    const [port] = await freePorts(1);
    const krb5Conf = path.join(dir, 'krb5.conf');
    const enctypes = o.enctypes ?? 'aes128-cts-hmac-sha1-96';
    const kdcConf = path.join(dir, 'kdc.conf');
    fs.writeFileSync(krb5Conf, [
      '[libdefaults]',
      `  default_realm = ${realm}`,
      '  dns_lookup_kdc = false',
      '  dns_lookup_realm = false',
      '  dns_canonicalize_hostname = false',
      '  rdns = false',
      '  ignore_acceptor_hostname = true',
      '  udp_preference_limit = 1',
      // Session keys too: the KDC would otherwise pick AES-256 for them.
      `  permitted_enctypes = ${enctypes}`,
      '[realms]',
      `  ${realm} = {`,
      `    kdc = 127.0.0.1:${port}`,
      '  }',
      '',
    ].join('\n'), { mode: 0o644 });
    fs.writeFileSync(kdcConf, [
      '[kdcdefaults]',
      `  kdc_listen = 127.0.0.1:${port}`,
      `  kdc_tcp_listen = 127.0.0.1:${port}`,
      '[realms]',
      `  ${realm} = {`,
      `    database_name = ${path.join(dir, 'principal')}`,
      `    key_stash_file = ${path.join(dir, 'stash')}`,
      `    acl_file = ${path.join(dir, 'kadm5.acl')}`,
      '    max_life = 2h',
      `    supported_enctypes = ${enctypes.split(/\s+/).map((e) => `${e}:normal`).join(' ')}`,
      '  }',
      '[logging]',
      `  kdc = FILE:${path.join(dir, 'kdc.log')}`,
      '',
    ].join('\n'));
    fs.writeFileSync(path.join(dir, 'kadm5.acl'), '');
    const kdc = new TestKdc(dir, realm, port!, krb5Conf, kdcConf, null);
    try {
      execFileSync(KDC_BIN.kdb5_util, ['create', '-s', '-r', realm, '-P', 'throwaway-master-key'], { env: kdc.env(), stdio: 'pipe' });
      kdc.child = spawn(KDC_BIN.krb5kdc, ['-n', '-r', realm], { env: kdc.env(), stdio: 'ignore' });
      live.add(kdc);
      await waitForPorts([port!], 15_000);
    } catch (err) {
      kdc.stop();
      throw err;
    }
    return kdc;
  }

  private env(): NodeJS.ProcessEnv {
    return { ...process.env, KRB5_CONFIG: this.krb5Conf, KRB5_KDC_PROFILE: this.kdcConf };
  }

  /** Creates a principal with a random key and writes its keys to `keytab` (appended). */
  addPrincipal(principal: string, keytab: string): void {
    const kadmin = (query: string) => execFileSync(KDC_BIN.kadmin, ['-r', this.realm, '-q', query], { env: this.env(), stdio: 'pipe' });
    kadmin(`addprinc -randkey ${principal}`);
    kadmin(`ktadd -k ${keytab} ${principal}`);
  }

  get pid(): number | null {
    return this.child?.pid ?? null;
  }

  stop(): void {
    const pid = this.child?.pid;
    if (pid && this.child!.exitCode === null) {
      try {
        process.kill(pid, 'SIGTERM');
      } catch {
        // already gone
      }
    }
    this.child = null;
    live.delete(this);
  }

  destroy(): void {
    this.stop();
    if (!process.env.SYNCMUX_KEEP_LAB) fs.rmSync(this.dir, { recursive: true, force: true });
  }
}
