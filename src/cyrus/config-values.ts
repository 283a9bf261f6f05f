/**
 * Scalar value syntaxes of imapd.conf, with Cyrus's exact acceptance rules
 * (lib/libconfig.c): switches, integers (strtol base 0), durations, enums.
 * Each returns null for text Cyrus would reject; callers turn that into a
 * ConfigError naming the option.
 */

/** config_parse_switch: judged on the first one or two characters only, case-sensitively. */
export function parseSwitch(text: string): boolean | null {
  const c = text[0];
  if (c === '0' || c === 'n' || c === 'f' || (c === 'o' && text[1] === 'f')) return false;
  if (c === '1' || c === 'y' || c === 't' || (c === 'o' && text[1] === 'n')) return true;
  return null;
}

/** strtol(text, &end, 0) that must consume the whole string: 0x hex, leading-0 octal, else decimal. */
export function parseCInt(text: string): number | null {
  const m = /^[\t\n\v\f\r ]*([+-]?)(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)$/.exec(text);
  if (!m) return null;
  const digits = m[2] ?? '';
  const value = /^0[xX]/.test(digits) ? parseInt(digits.slice(2), 16) : digits.length > 1 && digits[0] === '0' ? parseInt(digits, 8) : parseInt(digits, 10);
  return m[1] === '-' ? -value : value;
}

/** atoi(): leading number, 0 if none. Used where Cyrus itself uses atoi (channel switches). */
export function cAtoi(text: string): number {
  const m = /^[\t\n\v\f\r ]*([+-]?\d+)/.exec(text);
  return m ? parseInt(m[1] ?? '0', 10) : 0;
}

export type DurationUnit = 'd' | 'h' | 'm' | 's';

const UNIT_SECONDS: Record<DurationUnit, number> = { d: 86400, h: 3600, m: 60, s: 1 };

/**
 * config_parseduration: `[-]` then groups of digits+unit (d/h/m/s), e.g. `1h30m`;
 * a trailing bare number takes `defaultUnit`. Returns seconds.
 */
export function parseDuration(text: string, defaultUnit: DurationUnit = 's'): number | null {
  let s = text;
  if (s.length > 0 && /[0-9]$/.test(s)) s += defaultUnit;
  let neg = false;
  let i = 0;
  if (s[0] === '-') {
    neg = true;
    i = 1;
  }
  let total = 0;
  let accum = 0;
  let sawDigit = false;
  for (; i < s.length; i++) {
    const c = s[i] ?? '';
    if (c >= '0' && c <= '9') {
      accum = accum * 10 + (c.charCodeAt(0) - 48);
      sawDigit = true;
      continue;
    }
    if (!sawDigit) return null;
    const unit = UNIT_SECONDS[c as DurationUnit];
    if (unit === undefined) return null;
    total += accum * unit;
    accum = 0;
    sawDigit = false;
  }
  return neg ? -total : total;
}

/** Enum options normalise boolean spellings to on/off before matching (exact, case-sensitive). */
export function normaliseEnum(text: string): string {
  if (text === '1' || text === 'yes' || text === 't' || text === 'true') return 'on';
  if (text === '0' || text === 'no' || text === 'f' || text === 'false') return 'off';
  return text;
}
