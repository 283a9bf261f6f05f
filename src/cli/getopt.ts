/**
 * POSIX/GNU getopt(3) for short options, as Cyrus's tools parse argv:
 * clustered flags (`-vv`, `-rv`), attached or separate values (`-t1800`,
 * `-t 1800`), GNU permutation (operands may come before options), and `--`
 * to end options. Pure; the caller decides what an error means.
 */

export interface ParsedOption {
  flag: string;
  value?: string;
}

export type GetoptResult =
  | { ok: true; options: ParsedOption[]; operands: string[] }
  | { ok: false; error: string };

/** `spec` is a getopt string, e.g. "C:vn:"; a colon marks a flag taking a value. */
export function getopt(argv: readonly string[], spec: string): GetoptResult {
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
