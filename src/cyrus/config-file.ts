/**
 * imapd.conf syntax, as lib/libconfig.c (config_read_file) reads it: `key: value`
 * lines, `#` comments, trailing-backslash continuation, `@include: file`, keys
 * folded to lower case, values trimmed. The result is the raw key → value map
 * (known options and "overflow" keys such as partition-* alike); typing and
 * defaults live in config.ts.
 *
 * Cyrus treats every syntax error as fatal (EX_CONFIG); so do we, with
 * ConfigError naming file and line.
 */
import fs from 'node:fs';
import path from 'node:path';
import { inspect } from 'node:util';
import { isSecretKey } from './secret.js';
import { SyncmuxError } from '../errors.js';

export class ConfigError extends SyncmuxError {
  constructor(message: string, options?: ErrorOptions) {
    super('SYNCMUX_CONFIG', message, options);
  }
}

/** The raw options. Printing it never shows credentials. */
export class RawConfig {
  readonly #map: Map<string, string>;

  constructor(entries: Iterable<[string, string]> = []) {
    this.#map = new Map(entries);
  }

  get(key: string): string | undefined {
    return this.#map.get(key);
  }

  has(key: string): boolean {
    return this.#map.has(key);
  }

  keys(): IterableIterator<string> {
    return this.#map.keys();
  }

  get size(): number {
    return this.#map.size;
  }

  /** Internal to the parser: Cyrus refuses any key given twice. */
  set(key: string, value: string, where: string): void {
    if (this.#map.has(key)) throw new ConfigError(`option '${key}' was specified twice in config file (${where})`);
    this.#map.set(key, value);
  }

  toJSON(): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [k, v] of this.#map) out[k] = isSecretKey(k) ? '[redacted]' : v;
    return out;
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return `RawConfig ${inspect(this.toJSON())}`;
  }
}

export interface ReadConfOptions {
  /** Reads an @include target; default: fs.readFileSync relative to the cwd, as fopen() does. */
  readFile?: (file: string) => string;
  /** Cyrus honours $CYRUS_PREFIX as a prefix to every config path it opens. */
  cyrusPrefix?: string | undefined;
}

// C isspace() in the C locale.
const isSpace = (c: string | undefined): boolean => c === ' ' || (c !== undefined && c >= '\t' && c <= '\r');

/** Splits physical lines into logical ones (backslash-newline joins), with the line number of each end. */
function logicalLines(text: string): Array<{ line: string; lineno: number }> {
  const out: Array<{ line: string; lineno: number }> = [];
  const physical = text.split('\n');
  // A final newline leaves an empty tail that is not a line.
  if (physical.length > 0 && physical[physical.length - 1] === '') physical.pop();
  let acc = '';
  let lineno = 0;
  for (let i = 0; i < physical.length; i++) {
    const p = physical[i] ?? '';
    lineno++;
    const hasNewline = i < physical.length - 1 || text.endsWith('\n');
    if (hasNewline && p.endsWith('\\')) {
      acc += p.slice(0, -1);
      continue;
    }
    out.push({ line: acc + p, lineno });
    acc = '';
  }
  // A continuation still open at end of file is dropped, as fgets() ends the loop.
  return out;
}

/** Parses one file's text into `raw`, recursing into @include through `include`. */
export function parseConfText(text: string, file: string, raw: RawConfig, include: (target: string) => void): void {
  for (const { line, lineno } of logicalLines(text)) {
    let p = 0;
    while (isSpace(line[p])) p++;
    if (p >= line.length || line[p] === '#') continue;

    const keyStart = p;
    if (line[p] === '@') p++;
    while (p < line.length && /[A-Za-z0-9_-]/.test(line[p] ?? '')) p++;
    if (line[p] !== ':') throw new ConfigError(`invalid option name on line ${lineno} of configuration file ${file}`);
    const key = line.slice(keyStart, p).toLowerCase();

    let value = line.slice(p + 1);
    let s = 0;
    while (isSpace(value[s])) s++;
    let e = value.length;
    while (e > s && isSpace(value[e - 1])) e--;
    value = value.slice(s, e);
    if (!value) throw new ConfigError(`empty option value on line ${lineno} of configuration file ${file}`);

    if (key.startsWith('@')) {
      if (key !== '@include') throw new ConfigError(`invalid directive on line ${lineno} of configuration file ${file}`);
      include(value);
      continue;
    }
    raw.set(key, value, `${file} line ${lineno}`);
  }
}

/** Reads imapd.conf and everything it includes. */
export function readImapdConf(file: string, options: ReadConfOptions = {}): RawConfig {
  const prefix = options.cyrusPrefix;
  const readFile =
    options.readFile ??
    ((f: string): string => {
      if (prefix) {
        try {
          return fs.readFileSync(prefix + f, 'utf8');
        } catch {
          // Cyrus falls back to the unprefixed name.
        }
      }
      try {
        return fs.readFileSync(path.resolve(f), 'utf8');
      } catch (err) {
        throw new ConfigError(`can't open configuration file ${f}: ${(err as Error).message}`);
      }
    });
  const raw = new RawConfig();
  const seen = new Set<string>();
  const load = (f: string): void => {
    const text = readFile(f);
    // The check comes after the open in Cyrus, keyed by the name as written.
    if (seen.has(f)) throw new ConfigError(`configuration file ${f} included twice`);
    seen.add(f);
    parseConfText(text, f, raw, load);
  };
  load(file);
  return raw;
}
