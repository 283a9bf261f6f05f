/**
 * GNU getopt_long(3) as Cyrus's tools parse argv: clustered flags (`-vv`,
 * `-rv`), attached or separate values (`-t1800`, `-t 1800`), long options
 * mapped to their short flag (`--timeout=1800`, `--timeout 1800`, or any
 * unambiguous prefix), GNU permutation (operands may come before options),
 * and `--` to end options. Pure; the caller decides what an error means.
 */

export interface ParsedOption {
  flag: string;
  value?: string;
}

export type GetoptResult =
  | { ok: true; options: ParsedOption[]; operands: string[] }
  | { ok: false; error: string };

/**
 * `spec` is a getopt string, e.g. "C:vn:"; a colon marks a flag taking a
 * value. `long` maps long option names to the short flag they stand for
 * (whose entry in `spec` says whether it takes a value).
 */
export function getopt(argv: readonly string[], spec: string, long: Readonly<Record<string, string>> = {}): GetoptResult {
  const takesValue = new Map<string, boolean>();
  for (let i = 0; i < spec.length; i++) {
    const flag = spec[i]!;
    if (flag === ':') continue;
    takesValue.set(flag, spec[i + 1] === ':');
  }
  const options: ParsedOption[] = [];
  const operands: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      operands.push(...argv.slice(i + 1));
      break;
    }
    if (!arg.startsWith('-') || arg === '-') {
      operands.push(arg);
      continue;
    }
    if (arg.startsWith('--')) {
      const eq = arg.indexOf('=');
      const name = arg.slice(2, eq < 0 ? undefined : eq);
      const matches = Object.keys(long).filter((n) => n.startsWith(name));
      const exact = matches.includes(name) ? name : null;
      if (!exact && matches.length > 1) return { ok: false, error: `option '--${name}' is ambiguous; possibilities: ${matches.map((m) => `'--${m}'`).join(' ')}` };
      const full = exact ?? matches[0];
      if (full === undefined) return { ok: false, error: `unrecognized option '${arg}'` };
      const flag = long[full]!;
      if (!takesValue.get(flag)) {
        if (eq >= 0) return { ok: false, error: `option '--${full}' doesn't allow an argument` };
        options.push({ flag });
      } else if (eq >= 0) {
        options.push({ flag, value: arg.slice(eq + 1) });
      } else if (i + 1 < argv.length) {
        options.push({ flag, value: argv[++i]! });
      } else {
        return { ok: false, error: `option '--${full}' requires an argument` };
      }
      continue;
    }
    for (let j = 1; j < arg.length; j++) {
      const flag = arg[j]!;
      const needsValue = takesValue.get(flag);
      if (needsValue === undefined) return { ok: false, error: `invalid option -- '${flag}'` };
      if (!needsValue) {
        options.push({ flag });
        continue;
      }
      if (j + 1 < arg.length) {
        options.push({ flag, value: arg.slice(j + 1) });
      } else if (i + 1 < argv.length) {
        options.push({ flag, value: argv[++i]! });
      } else {
        return { ok: false, error: `option requires an argument -- '${flag}'` };
      }
      break;
    }
  }
  return { ok: true, options, operands };
}

/** C atoi(): leading whitespace, optional sign, digits; anything else stops it; no digits → 0. */
export function atoi(text: string): number {
  const m = /^\s*([+-]?\d+)/.exec(text);
  if (!m) return 0;
  const n = Number.parseInt(m[1]!, 10);
  return Math.max(-2147483648, Math.min(2147483647, n));
}
