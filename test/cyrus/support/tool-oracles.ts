/**
 * Cyrus 3.6.1's own command-line tools as oracles for the reader, run on a
 * harness master and parsed: ctl_mboxlist -d, mbexamine, unexpunge -l,
 * quota, mbpath -j and cyr_dbtool. Only read-only modes are used, and
 * cyr_dbtool (which opens read-write and may run recovery) only ever sees a
 * private copy of a database, in a temp dir owned by cyrus.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { CyrusLab } from '../../../lab/cyrus-lab.js';
import { cyrusEnv } from '../../../lab/cyrus-installs.js';
import { adminName, fromAdminName } from './ext-names.js';
import { parseBatchShow } from './cyrus-env.js';

// unexpunge prints ctime() in the tool's local time zone; pin it (spawnSync inherits process.env).
process.env.TZ = 'UTC';

export interface DumpEntry {
  name: string;
  mtime: string;
  uidvalidity: string;
  createdmodseq: string;
  foldermodseq: string;
  mbtype: string;
  partition?: string;
  acl: Record<string, string>;
  uniqueid?: string;
  name_history: unknown[];
}

/** `ctl_mboxlist -d [-y]`: every N entry (tombstones included; intermediates only with -y). */
export function ctlMboxlistDump(lab: CyrusLab, intermediates: boolean): Record<string, DumpEntry> {
  return JSON.parse(lab.tool(lab.master, 'ctl_mboxlist', intermediates ? ['-d', '-y'] : ['-d']).stdout) as Record<string, DumpEntry>;
}

export interface ExaminedRecord {
  uid: number;
  internaldate: number;
  sentdate: number;
  savedate: number;
  size: number;
  headerSize: number;
  lastUpdated: number;
  systemFlags: number;
  cacheVersion: number;
  guid: string;
  modseq: bigint;
  cid: bigint;
  internalFlags: string[];
  /** Words 0..3 (mbexamine prints them highest first). */
  userFlags: number[];
}

export interface Examined {
  uniqueid: string;
  acl: string;
  userFlags: string[];
  minorVersion: number;
  exists: number;
  quotaMailboxUsed: number;
  quotaAnnotUsed: number;
  uidvalidity: number;
  lastUid: number;
  deleted: number;
  answered: number;
  flagged: number;
  highestmodseq: bigint;
  records: ExaminedRecord[];
}

const num = (text: string, re: RegExp): string => {
  const m = re.exec(text);
  if (!m?.[1]) throw new Error(`mbexamine output lacks ${re}`);
  return m[1];
};

/** `mbexamine <mailbox>`: index header and the non-expunged records (it skips EXPUNGED ones). */
export function mbexamine(lab: CyrusLab, intname: string): Examined {
  const out = lab.tool(lab.master, 'mbexamine', [adminName(intname)]).stdout;
  const [head = '', ...recs] = out.split(/^\d{6}> /m);
  const flagsLine = num(head, /User Flags: (.*)$/m).trim();
  return {
    uniqueid: num(head, /Unique ID: (\S+)/),
    acl: num(head, /Mailbox ACL: (.*)$/m),
    userFlags: flagsLine === '[none]' ? [] : flagsLine.split(' '),
    minorVersion: Number(num(head, /Minor Version: (\d+)/)),
    exists: Number(num(head, /Number of Messages: (\d+)/)),
    quotaMailboxUsed: Number(num(head, /Mailbox Size: (\d+)/)),
    quotaAnnotUsed: Number(num(head, /Annotations Size: (\d+)/)),
    uidvalidity: Number(num(head, /UIDValidity: (\d+)/)),
    lastUid: Number(num(head, /Last UID: (\d+)/)),
    deleted: Number(num(head, /Deleted: (\d+)/)),
    answered: Number(num(head, /Answered: (\d+)/)),
    flagged: Number(num(head, /Flagged: (\d+)/)),
    highestmodseq: BigInt(num(head, /Highest Mod Sequence: (\d+)/)),
    records: recs.map((r) => ({
      uid: Number(num(r, /UID:(\d+)/)),
      internaldate: Number(num(r, /INT_DATE:(\d+)/)),
      sentdate: Number(num(r, /SENTDATE:(\d+)/)),
      savedate: Number(num(r, /SAVEDATE:(\d+)/)),
      size: Number(num(r, /SIZE:(\d+)/)),
      headerSize: Number(num(r, /HDRSIZE:(\d+)/)),
      lastUpdated: Number(num(r, /LASTUPD :(\d+)/)),
      systemFlags: parseInt(num(r, /SYSFLAGS:([0-9a-f]+)/), 16),
      cacheVersion: Number(num(r, /CACHEVER:(\d+)/)),
      guid: num(r, /GUID:([0-9a-f]+)/),
      modseq: BigInt(num(r, /MODSEQ:(\d+)/)),
      cid: BigInt(`0x${num(r, /THRID: ?([0-9a-f]+)/)}`),
      internalFlags: (/INTERNALFLAGS:([^>]*)>/.exec(r)?.[1] ?? '').trim().split(/\s+/).filter(Boolean),
      userFlags: num(r, /USERFLAGS: ([0-9a-f ]+)/).trim().split(' ').map((w) => parseInt(w, 16)).reverse(),
    })),
  };
}

export interface UnexpungedRecord {
  uid: number;
  size: number;
  /** Unix seconds of the Recv (internaldate) and Expg (last_updated) lines. */
  internaldate: number;
  expunged: number;
}

const ctime = (s: string): number => Date.parse(`${s.trim().replace(/\s+/g, ' ')} UTC`) / 1000;

/** `unexpunge -l <mailbox>`: the expunged records still in the index. */
export function unexpungeList(lab: CyrusLab, intname: string): UnexpungedRecord[] {
  const out = lab.tool(lab.master, 'unexpunge', ['-l', adminName(intname)]).stdout;
  return out
    .split(/^UID: /m)
    .slice(1)
    .map((block) => ({
      uid: Number(/^(\d+)/.exec(block)?.[1]),
      size: Number(/Size: (\d+)/.exec(block)?.[1]),
      internaldate: ctime(/Recv: (.*)$/m.exec(block)?.[1] ?? ''),
      expunged: ctime(/Expg: (.*)$/m.exec(block)?.[1] ?? ''),
    }));
}

export interface QuotaRow {
  root: string;
  resource: string;
  limit: number | null;
  /** As printed: STORAGE and X-ANNOTATION-STORAGE in KiB (floor), others as counts. */
  used: number;
}

/** `quota [-d domain]`: every root's limits and usage (never `-f`, which writes). */
export function quotaReport(lab: CyrusLab, domain?: string): QuotaRow[] {
  const out = lab.tool(lab.master, 'quota', domain ? ['-d', domain] : []).stdout;
  const rows: QuotaRow[] = [];
  for (const line of out.split('\n').slice(1)) {
    const m = /^\s*(\d+)?\s+(?:\d+\s+)?(\d+)\s+(STORAGE|MESSAGE|X-ANNOTATION-STORAGE|X-NUM-FOLDERS) (.+)$/.exec(line);
    if (!m) continue;
    rows.push({ root: fromAdminName(m[4] ?? ''), resource: m[3] ?? '', limit: m[1] === undefined ? null : Number(m[1]), used: Number(m[2]) });
  }
  return rows;
}

/** `mbpath -j <mailbox>`: Cyrus's own idea of the mailbox and per-user paths. */
export function mbpath(lab: CyrusLab, intname: string): { data: string; meta: string; user?: Record<string, string> } {
  return JSON.parse(lab.tool(lab.master, 'mbpath', ['-j', adminName(intname)]).stdout) as { data: string; meta: string; user?: Record<string, string> };
}

/**
 * `cyr_dbtool <copy> <backend> batch` SHOW: raw key/value pairs of a copy
 * of `file` (binary-safe literals). The copy lives in a fresh temp dir
 * given to cyrus, because the tool opens databases read-write.
 */
export function dbtoolShow(lab: CyrusLab, file: string, backend: 'twoskip' | 'flat' | 'skiplist'): Array<[Buffer, Buffer]> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'syncmux-dbcopy-'));
  try {
    const copy = path.join(dir, path.basename(file));
    fs.copyFileSync(file, copy);
    execFileSync('chown', ['-R', 'cyrus:mail', dir]);
    // Not lab.tool(): the output is binary and needs stdin.
    const cyrus = lab.master.cyrus;
    const r = spawnSync(path.join(cyrus.binDir, 'cyr_dbtool'), ['-C', lab.master.paths.imapdConf, copy, backend, 'batch'], { input: 'SHOW\n', env: cyrusEnv(cyrus) });
    if (r.status !== 0) throw new Error(`cyr_dbtool ${file} exited ${r.status}: ${r.stderr}`);
    return parseBatchShow(r.stdout);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
