/** The benches' result tables: one Markdown row per result, columns in first-seen order, '-' where a row has none. */
export type Row = Record<string, string | number>;

export function table(rows: Row[]): string {
  const cols = [...new Set(rows.flatMap((r) => Object.keys(r)))];
  const line = (cells: Array<string | number>) => `| ${cells.join(' | ')} |`;
  return [line(cols), line(cols.map(() => '---')), ...rows.map((r) => line(cols.map((c) => r[c] ?? '-')))].join('\n');
}
