/**
 * Tables as escaped HTML and as aligned plain text from one description, so every rich display
 * (data frames, model summaries, anova tables) also has the text/plain twin Jupyter requires.
 */
import { formatColumn } from './format';

export type TableCell = string | number;
export type Align = 'left' | 'right' | 'center';

export interface TableSpec {
  caption?: string;
  columns: string[];
  rows: TableCell[][];
  /** Labels printed as header cells in front of each row (data-frame index, coefficient names). */
  rowLabels?: TableCell[];
  /** One entry per column; by default columns holding only numbers are right-aligned, others left. */
  align?: Align[];
  /** Significant digits of number cells, formatted per column like R's format() (default 7). */
  digits?: number;
  /** A line under the table, e.g. "1000 rows × 3 columns". */
  footer?: string;
}

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Escapes text for HTML element content and quoted attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c]);
}

interface LaidOutTable {
  header: string[];
  body: string[][];
  labels?: string[];
  align: Align[];
}

/** Formats number cells column by column (common decimals) and settles the alignment. */
function layOut(spec: TableSpec): LaidOutTable {
  const { columns, rows } = spec;
  for (const [i, row] of rows.entries()) {
    if (row.length !== columns.length) {
      throw new RangeError(`table row ${i} has ${row.length} cells for ${columns.length} columns`);
    }
  }
  if (spec.rowLabels && spec.rowLabels.length !== rows.length) {
    throw new RangeError(`table has ${spec.rowLabels.length} row labels for ${rows.length} rows`);
  }
  const body = rows.map((row) => row.map(String));
  const align: Align[] = [];
  columns.forEach((_, j) => {
    const numberRows = rows.flatMap((row, i) => (typeof row[j] === 'number' ? [i] : []));
    const formatted = formatColumn(numberRows.map((i) => rows[i][j] as number), spec.digits ?? 7);
    numberRows.forEach((i, k) => (body[i][j] = formatted[k]));
    align.push(spec.align?.[j] ?? (rows.length > 0 && numberRows.length === rows.length ? 'right' : 'left'));
  });
  return { header: columns, body, labels: spec.rowLabels?.map(String), align };
}

/** An HTML table with escaped content; numbers are formatted per column (see `TableSpec.digits`). */
export function htmlTable(spec: TableSpec): string {
  const { header, body, labels, align } = layOut(spec);
  const style = (j: number) => (align[j] === 'left' ? '' : ` style="text-align: ${align[j]}"`);
  const labelHead = labels ? '<th></th>' : '';
  const head = `<tr>${labelHead}${header.map((h, j) => `<th${style(j)}>${escapeHtml(h)}</th>`).join('')}</tr>`;
  const rows = body.map((row, i) => {
    const label = labels ? `<th>${escapeHtml(labels[i])}</th>` : '';
    return `<tr>${label}${row.map((c, j) => `<td${style(j)}>${escapeHtml(c)}</td>`).join('')}</tr>`;
  });
  const caption = spec.caption === undefined ? '' : `<caption>${escapeHtml(spec.caption)}</caption>`;
  const footer = spec.footer === undefined ? '' : `<p>${escapeHtml(spec.footer)}</p>`;
  return (
    `<div class="neurolmm-table"><table>${caption}<thead>${head}</thead>` +
    `<tbody>${rows.join('')}</tbody></table>${footer}</div>`
  );
}

function pad(text: string, width: number, align: Align): string {
  const space = width - [...text].length;
  if (space <= 0) return text;
  if (align === 'right') return ' '.repeat(space) + text;
  if (align === 'left') return text + ' '.repeat(space);
  const left = Math.floor(space / 2);
  return ' '.repeat(left) + text + ' '.repeat(space - left);
}

/** The same table as aligned plain text (columns separated by one space, like R's print). */
export function textTable(spec: TableSpec): string {
  const { header, body, labels, align } = layOut(spec);
  const columns = header.map((h, j) => ({ cells: [h, ...body.map((row) => row[j])], align: align[j] }));
  if (labels) columns.unshift({ cells: ['', ...labels], align: 'left' });
  const widths = columns.map((col) => Math.max(...col.cells.map((c) => [...c].length)));
  const lines = (columns[0]?.cells ?? []).map((_, i) =>
    columns.map((col, j) => pad(col.cells[i], widths[j], col.align)).join(' ').trimEnd(),
  );
  if (spec.caption !== undefined) lines.unshift(spec.caption);
  if (spec.footer !== undefined) lines.push('', spec.footer);
  return lines.join('\n');
}
