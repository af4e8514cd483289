// Plain-text tables for the terminal and Markdown tables for READMEs, from the same rows, so what
// a person sees after a run and what gets recorded are the same figures in the same order.

export interface Column {
  header: string;
  /** Numbers read best right-aligned; names left-aligned. Default: left. */
  align?: 'left' | 'right';
}

export type Row = readonly string[];

/** Box-free text table: header, a rule, rows; columns separated by two spaces. */
export function renderTextTable(columns: readonly Column[], rows: readonly Row[], title?: string): string {
  const widths = columns.map((c, i) => Math.max(width(c.header), ...rows.map((r) => width(r[i] ?? ''))));
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, i) => pad(cell, widths[i]!, columns[i]!.align ?? 'left'))
      .join('  ')
      .trimEnd();
  const out: string[] = [];
  if (title) out.push(title);
  out.push(line(columns.map((c) => c.header)));
  out.push(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const r of rows) out.push(line(columns.map((_, i) => r[i] ?? '')));
  return out.join('\n');
}

/** GitHub-flavoured Markdown table; pipes inside cells are escaped. */
export function renderMarkdownTable(columns: readonly Column[], rows: readonly Row[]): string {
  const esc = (s: string) => s.replace(/\|/g, '\\|');
  const header = `| ${columns.map((c) => esc(c.header)).join(' | ')} |`;
  const rule = `| ${columns.map((c) => (c.align === 'right' ? '---:' : '---')).join(' | ')} |`;
  const body = rows.map((r) => `| ${columns.map((_, i) => esc(r[i] ?? '')).join(' | ')} |`);
  return [header, rule, ...body].join('\n');
}

/** Display width: counts code points, so "µs" is two columns, not three bytes. */
function width(s: string): number {
  return [...s].length;
}

function pad(s: string, w: number, align: 'left' | 'right'): string {
  const fill = ' '.repeat(Math.max(0, w - width(s)));
  return align === 'right' ? fill + s : s + fill;
}
