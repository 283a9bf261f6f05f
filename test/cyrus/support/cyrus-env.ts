/**
 * Test fixtures made by Cyrus's own tools (the system's 3.6.1, or the
 * master's build that SYNCMUX_CYRUS / SYNCMUX_CYRUS_MASTER selects): a throw-away
 * configdirectory + partition in a temp dir owned by the cyrus user, and
 * helpers to run cyr_dbtool, ctl_mboxlist, reconstruct, ipurge … as cyrus.
 * cyrusUnavailable() says why a test must skip (never skip silently).
 * An env can switch to another build (`env.build = cyrus310()`), e.g. to
 * upgrade what 3.6.1 wrote with 3.10.1's tools.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { backportInstall, cyrusEnv, cyrusFromEnv, cyrusInstall, installMissingReason } from '../../../lab/cyrus-installs.js';

const CYRUS = cyrusInstall(cyrusFromEnv().master);
export const CYRUS_BIN = process.env.SYNCMUX_CYRUS_BIN ?? CYRUS.binDir;
/** The environment the tools in CYRUS_BIN run with (LD_LIBRARY_PATH for an unpacked build). */
export const CYRUS_TOOL_ENV = cyrusEnv(CYRUS);

/** Where a build's tools live and what they need in their environment. */
export interface CyrusBuild {
  readonly label: string;
  readonly bin: string;
  readonly env: Readonly<Record<string, string>>;
}

/** The build the suite runs on (SYNCMUX_CYRUS / SYNCMUX_CYRUS_MASTER, default Debian's 3.6). */
export const SYSTEM_BUILD: CyrusBuild = { label: CYRUS.release, bin: CYRUS_BIN, env: CYRUS.env };

/** Debian's 3.10 backport as `./dev setup` unpacks it; when it is not there, the reason to skip. */
export function cyrus310(): CyrusBuild | string {
  const install = backportInstall();
  const missing = installMissingReason(install);
  if (missing) return missing;
  return { label: install.release, bin: install.binDir, env: install.env };
}

let cyrusUid: number | null | undefined;

function lookupCyrusUser(): number | null {
  if (cyrusUid !== undefined) return cyrusUid;
  const r = spawnSync('id', ['-u', 'cyrus'], { encoding: 'utf8' });
  cyrusUid = r.status === 0 ? Number(r.stdout.trim()) : null;
  return cyrusUid;
}

/** Null when the tools can run as the cyrus user, else the reason to skip. */
export function cyrusUnavailable(): string | null {
  if (!fs.existsSync(path.join(CYRUS_BIN, 'cyr_dbtool'))) return `Cyrus tools not installed in ${CYRUS_BIN}`;
  const uid = lookupCyrusUser();
  if (uid === null) return 'no cyrus user';
  const me = process.getuid?.() ?? -1;
  if (me !== 0 && me !== uid) return 'must run as root or cyrus to use the Cyrus tools';
  return null;
}

export interface RunResult {
  status: number | null;
  stdout: Buffer;
  stderr: string;
}

export type BatchOp = readonly ['SET', string | Buffer, string | Buffer] | readonly ['DELETE', string | Buffer];

const lit = (v: string | Buffer): Buffer => {
  const b = typeof v === 'string' ? Buffer.from(v, 'utf8') : v;
  return Buffer.concat([Buffer.from(`{${b.length}+}\r\n`), b]);
};

/** Parses `cyr_dbtool … batch` SHOW output: one `astring SP astring LF` per record. */
export function parseBatchShow(out: Buffer): Array<[Buffer, Buffer]> {
  let p = 0;
  const astring = (): Buffer => {
    if (out[p] === 0x7b) {
      const close = out.indexOf(0x7d, p);
      const n = Number(out.toString('latin1', p + 1, close).replace('+', ''));
      const start = close + 3;
      p = start + n;
      return out.subarray(start, start + n);
    }
    if (out[p] === 0x22) {
      const bytes: number[] = [];
      p++;
      while (out[p] !== 0x22) {
        if (out[p] === 0x5c) p++;
        bytes.push(out[p++] as number);
      }
      p++;
      return Buffer.from(bytes);
    }
    let e = p;
    while (e < out.length && out[e] !== 0x20 && out[e] !== 0x0a) e++;
    const b = out.subarray(p, e);
    p = e;
    return b;
  };
  const rows: Array<[Buffer, Buffer]> = [];
  while (p < out.length) {
    const k = astring();
    p++; // SP
    const v = astring();
    p++; // LF
    rows.push([k, v]);
  }
  return rows;
}

export class CyrusEnv {
  /** Whose tools run() uses. */
  build: CyrusBuild = SYSTEM_BUILD;
  readonly conf: string;
  readonly configDir: string;
  readonly spool: string;

  private constructor(readonly dir: string) {
    this.conf = path.join(dir, 'imapd.conf');
    this.configDir = path.join(dir, 'conf');
    this.spool = path.join(dir, 'spool');
  }

  /** A fresh instance; `extra` lines are appended to imapd.conf. */
  static create(extra: Record<string, string> = {}): CyrusEnv {
    const env = new CyrusEnv(fs.mkdtempSync(path.join(os.tmpdir(), 'syncmux-cyrus-')));
    for (const d of ['db', 'lock', 'log', 'proc', 'quota', 'socket', 'sync', 'user']) fs.mkdirSync(path.join(env.configDir, d), { recursive: true });
    fs.mkdirSync(env.spool);
    const lines = {
      configdirectory: env.configDir,
      'partition-default': env.spool,
      unixhierarchysep: 'no',
      altnamespace: 'no',
      sievedir: path.join(env.dir, 'sieve'),
      ...extra,
    };
    fs.writeFileSync(env.conf, Object.entries(lines).map(([k, v]) => `${k}: ${v}\n`).join(''));
    env.chown();
    return env;
  }

  /** Gives the tree to cyrus (files we add as root must be writable by the tools). */
  chown(): void {
    const uid = lookupCyrusUser();
    if (uid === null || process.getuid?.() !== 0) return;
    spawnSync('chown', ['-R', `${uid}`, this.dir]);
  }

  run(tool: string, args: readonly string[], input?: Buffer | string): RunResult {
    const bin = path.join(this.build.bin, tool);
    const argv = [bin, '-C', this.conf, ...args];
    const env = { ...process.env, ...this.build.env };
    const r = process.getuid?.() === 0 ? spawnSync('runuser', ['-u', 'cyrus', '--', ...argv], { input, env }) : spawnSync(argv[0] as string, argv.slice(1), { input, env });
    return { status: r.status, stdout: r.stdout ?? Buffer.alloc(0), stderr: r.stderr?.toString() ?? '' };
  }

  /** Runs and insists on exit 0. */
  must(tool: string, args: readonly string[], input?: Buffer | string): Buffer {
    const r = this.run(tool, args, input);
    if (r.status !== 0) throw new Error(`${tool} ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
    return r.stdout;
  }

  /** Applies SET/DELETE operations with cyr_dbtool's batch mode (binary-safe literals), creating the DB. */
  dbtool(file: string, backend: string, ops: readonly BatchOp[]): void {
    const chunks: Buffer[] = [];
    for (const op of ops) {
      if (op[0] === 'SET') chunks.push(Buffer.from('SET '), lit(op[1]), Buffer.from(' '), lit(op[2]), Buffer.from('\n'));
      else chunks.push(Buffer.from('DELETE '), lit(op[1]), Buffer.from('\n'));
    }
    const r = this.run('cyr_dbtool', ['-n', file, backend, 'batch'], Buffer.concat(chunks));
    if (r.status !== 0 || r.stderr.includes('FAILED')) throw new Error(`cyr_dbtool batch failed: ${r.stderr}`);
  }

  /** Records as cyr_dbtool sees them (batch SHOW). */
  dbshow(file: string, backend: string, prefix?: string): Array<[Buffer, Buffer]> {
    const cmd = prefix === undefined ? Buffer.from('SHOW\n') : Buffer.concat([Buffer.from('SHOW '), lit(prefix), Buffer.from('\n')]);
    return parseBatchShow(this.must('cyr_dbtool', [file, backend, 'batch'], cmd));
  }

  /** ctl_mboxlist -u from the JSON dump format. */
  undump(entries: Record<string, Record<string, unknown>>): void {
    this.must('ctl_mboxlist', ['-u'], JSON.stringify(entries));
  }

  /** Writes RFC 822 messages as `<uid>.` files into a mailbox directory. */
  writeMessages(dir: string, messages: ReadonlyArray<string>): void {
    fs.mkdirSync(dir, { recursive: true });
    messages.forEach((m, i) => fs.writeFileSync(path.join(dir, `${i + 1}.`), m.replace(/\r?\n/g, '\r\n')));
    this.chown();
  }

  /** A root-owned read-only copy of a file for the reader under test. */
  readOnlyCopy(file: string): string {
    const dest = path.join(this.dir, 'ro', `${path.basename(file)}.${fs.readdirSync(this.dir).length}`);
    fs.mkdirSync(path.dirname(dest), { recursive: true });
    fs.copyFileSync(file, dest);
    fs.chmodSync(dest, 0o444);
    return dest;
  }

  cleanup(): void {
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

/** A plain message with the given subject (CRLF added by writeMessages). */
export function message(n: number, extraBody = ''): string {
  return `From: a@example.com\nTo: tom@example.com\nSubject: msg ${n}\nDate: Mon, 1 Jan 2024 10:00:00 +0000\nMessage-ID: <m${n}@example.com>\n\nbody ${n}\n${extraBody}`;
}
