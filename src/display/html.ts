/**
 * Tables as escaped HTML and as aligned plain text from one description, so every rich display
 * (data frames, model summaries, anova tables) also has the text/plain twin Jupyter requires.
 *
 * The escaping rule for every HTML output: markup is written only in `html` templates, whose
 * interpolated values are text (escaped) unless they are `Html` made by another template or a
 * helper here; JSON inside a script element goes through `scriptJson`, script sources through
 * `scriptSource`. Names from the user's data (file names, columns, formulas, levels) are text.
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

/** A piece of markup that is safe to place as is (built by `html` or a helper of this module). */
export class Html {
  constructor(readonly markup: string) {}
  toString(): string {
    return this.markup;
  }
}

/**
 * Template tag for markup: html`<p>${name}</p>` escapes `name` unless it is `Html`; arrays are
 * concatenated item by item under the same rule; undefined, null and false insert nothing.
 */
export function html(strings: TemplateStringsArray, ...values: unknown[]): Html {
  const piece = (v: unknown): string =>
    v instanceof Html ? v.markup : Array.isArray(v) ? v.map(piece).join('') : v === undefined || v === null || v === false ? '' : escapeHtml(String(v));
  return new Html(strings.reduce((out, s, i) => out + piece(values[i - 1]) + s));
}

/** Lines of text joined by <br>, each escaped. */
export function htmlLines(lines: string[]): Html {
  return new Html(lines.map(escapeHtml).join('<br>'));
}

/**
 * JSON to place inside a script element: typed arrays become plain arrays, and '<' (which JSON
 * leaves only inside strings, where \u003c reads the same) cannot start `</script>` or `<!--`.
 */
export function scriptJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    ArrayBuffer.isView(v) && !(v instanceof DataView) ? Array.from(v as unknown as ArrayLike<number>) : v,
  ).replace(/</g, '\\u003c');
}

/** A script element of a data type (widget state, widget view) holding `value` as JSON. */
export function jsonScript(type: string, value: unknown): Html {
  return new Html(`<script type="${escapeHtml(type)}">${scriptJson(value)}</script>`);
}

/** JavaScript source to place inside a script element: `</script` would end it early (`<\/` reads the same in strings and regexes). */
export function scriptSource(source: string): string {
  return source.replace(/<\/(script)/gi, '<\\/$1');
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
    const formatted = formatColumn(
      numberRows.map((i) => rows[i][j] as number),
      spec.digits ?? 7,
    );
    numberRows.forEach((i, k) => (body[i][j] = formatted[k]));
    align.push(spec.align?.[j] ?? (rows.length > 0 && numberRows.length === rows.length ? 'right' : 'left'));
  });
  return { header: columns, body, labels: spec.rowLabels?.map(String), align };
}

/** An HTML table with escaped content; numbers are formatted per column (see `TableSpec.digits`). */
export function tableHtml(spec: TableSpec): Html {
  const { header, body, labels, align } = layOut(spec);
  const style = (j: number) => (align[j] === 'left' ? '' : html` style="text-align: ${align[j]}"`);
  const head = html`<tr>${labels ? html`<th></th>` : ''}${header.map((h, j) => html`<th${style(j)}>${h}</th>`)}</tr>`;
  const rows = body.map((row, i) => html`<tr>${labels ? html`<th>${labels[i]}</th>` : ''}${row.map((c, j) => html`<td${style(j)}>${c}</td>`)}</tr>`);
  const caption = spec.caption === undefined ? '' : html`<caption>${spec.caption}</caption>`;
  const footer = spec.footer === undefined ? '' : html`<p>${spec.footer}</p>`;
  return html`<div class="neurolmm-table"><table>${caption}<thead>${head}</thead><tbody>${rows}</tbody></table>${footer}</div>`;
}

/** `tableHtml` as a string, for a `text/html` entry of a MIME bundle. */
export function htmlTable(spec: TableSpec): string {
  return tableHtml(spec).markup;
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
    columns
      .map((col, j) => pad(col.cells[i], widths[j], col.align))
      .join(' ')
      .trimEnd(),
  );
  if (spec.caption !== undefined) lines.unshift(spec.caption);
  if (spec.footer !== undefined) lines.push('', spec.footer);
  return lines.join('\n');
}
