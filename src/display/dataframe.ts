/**
 * danfojs DataFrame/Series display, duck-typed so that neurolmm does not load danfojs (and works
 * with whichever copy a notebook imports). Long frames show their first and last rows like pandas.
 */
import { Align, TableCell, TableSpec, htmlTable, textTable } from './html';

/** The members of a danfojs DataFrame or Series that the display reads. */
export interface DataFrameLike {
  readonly $data: unknown;
  readonly columns: string[];
  readonly index: (string | number)[];
  /** Rows of a DataFrame, values of a Series. */
  readonly values: unknown[];
  readonly $isSeries?: boolean;
}

export function isDataFrameLike(value: unknown): value is DataFrameLike {
  if (typeof value !== 'object' || value === null || !('$data' in value)) return false;
  const frame = value as DataFrameLike;
  return Array.isArray(frame.columns) && Array.isArray(frame.index) && Array.isArray(frame.values);
}

export interface DataFrameDisplayOptions {
  /** Frames with more rows show only `headRows` rows from each end (pandas: max_rows 60, min_rows 10). */
  maxRows?: number;
  headRows?: number;
  maxColumns?: number;
  headColumns?: number;
}

const ELLIPSIS = '...';

/** Positions to show out of `n`: all of them, or `head` from each end with -1 marking the gap. */
function shownPositions(n: number, max: number, head: number): number[] {
  const all = Array.from({ length: n }, (_, i) => i);
  return n <= max ? all : [...all.slice(0, head), -1, ...all.slice(n - head)];
}

/** A frame's cell; a missing label (null) shows as R's NA, as in the tidy frames' group column. */
function cell(value: unknown): TableCell {
  if (value === null || value === undefined) return 'NA';
  return typeof value === 'number' || typeof value === 'string' ? value : String(value);
}

/** The table (HTML and text/plain) of a danfojs DataFrame or Series. */
export function dataFrameBundle(frame: DataFrameLike, options: DataFrameDisplayOptions = {}): Record<string, string> {
  const { maxRows = 60, headRows = 5, maxColumns = 20, headColumns = 10 } = options;
  const isSeries = frame.$isSeries === true;
  const rowValues: unknown[][] = isSeries ? frame.values.map((v) => [v]) : (frame.values as unknown[][]);
  const columnNames = isSeries ? [String(frame.columns[0] ?? '')] : frame.columns.map(String);
  const nRows = rowValues.length;
  const nColumns = columnNames.length;

  const rowPositions = shownPositions(nRows, maxRows, headRows);
  const columnPositions = shownPositions(nColumns, maxColumns, headColumns);
  const columns = columnPositions.map((j) => (j < 0 ? ELLIPSIS : columnNames[j]));
  const rows = rowPositions.map((i) => columnPositions.map((j) => (i < 0 || j < 0 ? ELLIPSIS : cell(rowValues[i][j]))));
  const rowLabels = rowPositions.map((i) => (i < 0 ? ELLIPSIS : cell(frame.index[i])));
  // Alignment from the data itself: the ellipsis cells must not turn numeric columns left-aligned.
  const align: Align[] = columnPositions.map((j) => (j >= 0 && nRows > 0 && rowValues.every((row) => typeof row[j] === 'number') ? 'right' : 'left'));
  const truncated = nRows > maxRows || nColumns > maxColumns;
  const spec: TableSpec = { columns, rows, rowLabels, align };
  if (truncated) spec.footer = isSeries ? `${nRows} rows` : `${nRows} rows × ${nColumns} columns`;
  return { 'text/html': htmlTable(spec), 'text/plain': textTable(spec) };
}
