/**
 * Tables: the one in-memory form of every data input (danfojs DataFrame, records, columns, CSV file).
 */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { DataError } from '../errors';
import { formatNumber } from '../formula/deparse';
import type { Cell, Column, Table } from './types';

/** Structural view of a danfojs DataFrame (danfojs is not loaded here: importing it costs most of a second). */
export interface DataFrameLike {
  readonly columns: string[];
  column(name: string): { readonly values: ArrayLike<unknown> };
  /** danfojs's own accessor: with `false`, the column's array itself rather than a new Series */
  $getColumnData?(name: string, returnSeries: false): ArrayLike<unknown>;
}

/** A DataFrame's column values, without the Series (and its copy of the index) danfojs builds for `column()`. */
function frameColumn(frame: DataFrameLike, name: string): ArrayLike<unknown> {
  return frame.$getColumnData ? frame.$getColumnData(name, false) : frame.column(name).values;
}

/** Every accepted data input. */
export type DataInput = Table | DataFrameLike | Record<string, Cell>[] | Record<string, ArrayLike<Cell> | Float64Array | Float32Array | Int32Array>;

class ColumnTable implements Table {
  readonly names: string[];
  private readonly columns: Map<string, Column>;

  constructor(
    columns: Map<string, Column>,
    readonly nrows: number,
    readonly source?: string,
  ) {
    this.columns = columns;
    this.names = [...columns.keys()];
  }

  column(name: string): Column | undefined {
    return this.columns.get(name);
  }
}

/** A table from named columns, checking that they have the same length. */
export function tableOf(columns: Map<string, Column>, source?: string): Table {
  let nrows: number | undefined;
  let first = '';
  for (const [name, column] of columns) {
    if (nrows === undefined) {
      nrows = column.values.length;
      first = name;
    } else if (column.values.length !== nrows) {
      throw new DataError(`column '${name}' has ${column.values.length} values but column '${first}' has ${nrows}${source ? ` (${source})` : ''}`);
    }
  }
  return new ColumnTable(columns, nrows ?? 0, source);
}

const isMissing = (v: unknown): boolean => v === null || v === undefined || (typeof v === 'number' && Number.isNaN(v));

/**
 * A column from JavaScript cells: numbers (and missing) make a numeric column, booleans a boolean
 * label column, anything else labels (numbers among strings are written as R prints them).
 */
export function columnFromCells(cells: ArrayLike<unknown>, name: string, source?: string): Column {
  if (cells instanceof Float64Array) return { kind: 'numeric', values: cells };
  if (ArrayBuffer.isView(cells)) return { kind: 'numeric', values: Float64Array.from(cells as unknown as ArrayLike<number>) };
  const n = cells.length;
  let numeric = true;
  let boolean = true;
  for (let i = 0; i < n; i++) {
    const v = cells[i];
    if (isMissing(v)) continue;
    if (typeof v !== 'number') numeric = false;
    if (typeof v !== 'boolean') boolean = false;
    if (typeof v === 'object' || typeof v === 'function' || typeof v === 'symbol' || typeof v === 'bigint') {
      throw new DataError(
        `column '${name}' has a value of type ${typeof v} at row ${i + 1}; cells must be numbers, strings, booleans or missing${source ? ` (${source})` : ''}`,
      );
    }
  }
  if (numeric) {
    const values = new Float64Array(n);
    for (let i = 0; i < n; i++) values[i] = isMissing(cells[i]) ? NaN : (cells[i] as number);
    return { kind: 'numeric', values };
  }
  refuseStrayLabels(
    n,
    (i) => (isMissing(cells[i]) ? 'missing' : typeof cells[i] === 'number' ? 'number' : 'label'),
    (i) => String(cells[i]),
    (i) => `row ${i + 1}`,
    `column '${name}'${source ? ` of ${source}` : ''}`,
    'give it numbers (NaN or null where a value is missing), or strings throughout to make it a factor',
  );
  const labels: (string | null)[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const v = cells[i];
    labels[i] = isMissing(v) ? null : typeof v === 'boolean' ? (v ? 'TRUE' : 'FALSE') : typeof v === 'number' ? formatNumber(v) : String(v);
  }
  return boolean ? { kind: 'label', values: labels, boolean: true } : { kind: 'label', values: labels };
}

function isTable(data: object): data is Table {
  return Array.isArray((data as Table).names) && typeof (data as Table).nrows === 'number' && typeof (data as Table).column === 'function';
}

function isDataFrame(data: object): data is DataFrameLike {
  return Array.isArray((data as DataFrameLike).columns) && typeof (data as DataFrameLike).column === 'function';
}

/**
 * How a column is to be read: 'numeric', 'factor' (R's sorted level order), 'ordered', or a
 * factor with its level order given ({ levels, ordered? }), as R's factor(x, levels, ordered).
 */
export type ColumnType = 'numeric' | 'factor' | 'ordered' | { readonly levels: (string | number)[]; readonly ordered?: boolean };

/** The table with the named columns converted as `types` says (R's as.numeric / factor / ordered). */
export function setColumnTypes(data: DataInput, types: Record<string, ColumnType>): Table {
  const table = toTable(data);
  const where = table.source ? ` of '${table.source}'` : '';
  for (const name of Object.keys(types))
    if (!table.column(name)) throw new DataError(`column types name an unknown column '${name}'; the columns${where} are: ${table.names.join(', ')}`);
  const columns = new Map<string, Column>();
  for (const name of table.names) {
    const column = table.column(name)!;
    columns.set(name, types[name] === undefined ? column : typedColumn(column, types[name], name, where));
  }
  return tableOf(columns, table.source);
}

function typedColumn(column: Column, type: ColumnType, name: string, where: string): Column {
  if (type === 'numeric') {
    if (column.kind === 'numeric') return column;
    const values = new Float64Array(column.values.length);
    column.values.forEach((label, i) => {
      if (label === null) values[i] = NaN;
      else if (NUMBER_FIELD.test(label)) values[i] = parseNumberField(label);
      else throw new DataError(`column '${name}'${where} cannot be numeric: row ${i + 1} holds '${label}'`);
    });
    return { kind: 'numeric', values };
  }
  if (type !== 'factor' && type !== 'ordered' && (typeof type !== 'object' || !Array.isArray(type.levels)))
    throw new DataError(`unknown type for column '${name}': use 'numeric', 'factor', 'ordered' or { levels: [...], ordered: true }`);
  const ordered = type === 'ordered' || (typeof type === 'object' && type.ordered === true);
  // a copy of the labels, so that the column's codes are not shared with the untyped column's
  const values = column.kind === 'numeric' ? Array.from(column.values, (v) => (Number.isNaN(v) ? null : formatNumber(v))) : column.values.slice();
  if (typeof type !== 'object') return { kind: 'label', values, ...(ordered ? { ordered } : {}) };
  const levels = type.levels.map((l) => (typeof l === 'number' ? formatNumber(l) : String(l)));
  const repeated = levels.find((l, k) => levels.indexOf(l) !== k);
  if (repeated !== undefined) throw new DataError(`the levels given for column '${name}' repeat '${repeated}'`);
  const known = new Set(levels);
  values.forEach((label, i) => {
    if (label !== null && !known.has(label))
      throw new DataError(`column '${name}'${where} has the value '${label}' at row ${i + 1}, which is not among the levels given (${levels.join(', ')})`);
  });
  return { kind: 'label', values, levels, ...(ordered ? { ordered } : {}) };
}

/** Any accepted data input as a Table (a Table is returned as is). */
export function toTable(data: DataInput, source?: string): Table {
  if (data === null || typeof data !== 'object') throw new DataError('data must be a table, a DataFrame, an array of records or an object of columns');
  if (isTable(data)) return data;
  const columns = new Map<string, Column>();
  if (isDataFrame(data)) {
    for (const name of data.columns) columns.set(name, columnFromCells(frameColumn(data, name), name, source));
  } else if (Array.isArray(data)) {
    const names: string[] = [];
    const seen = new Set<string>();
    for (const record of data) {
      for (const key of Object.keys(record)) {
        if (!seen.has(key)) {
          seen.add(key);
          names.push(key);
        }
      }
    }
    // a key absent from a record is a missing cell
    for (const name of names)
      columns.set(
        name,
        columnFromCells(
          data.map((r) => r[name]),
          name,
          source,
        ),
      );
  } else {
    for (const [name, values] of Object.entries(data)) {
      if (values === null || typeof values !== 'object' || typeof (values as ArrayLike<Cell>).length !== 'number') {
        throw new DataError(`column '${name}' is not an array of values`);
      }
      columns.set(name, columnFromCells(values as ArrayLike<Cell>, name, source));
    }
  }
  return tableOf(columns, source);
}

/**
 * A column of numbers with a few labels among them (`ten` among ages) is a typing error far more
 * often than a factor with as many levels as distinct numbers, which would then enter the model as
 * one coefficient per level: refused, naming the labels and where they are. "A few" is at most
 * one in ten of the column's values.
 */
function refuseStrayLabels(
  n: number,
  kindOf: (i: number) => 'missing' | 'number' | 'label',
  valueOf: (i: number) => string,
  rowOf: (i: number) => string,
  column: string,
  remedy: string,
): void {
  let numbers = 0;
  const strays: number[] = [];
  for (let i = 0; i < n; i++) {
    const kind = kindOf(i);
    if (kind === 'number') numbers++;
    else if (kind === 'label') strays.push(i);
  }
  if (numbers === 0 || strays.length * 10 > numbers + strays.length) return;
  const shown = strays.slice(0, 3).map((i) => `'${valueOf(i)}' at ${rowOf(i)}`);
  if (strays.length > 3) shown.push(`${strays.length - 3} more`);
  const what = strays.length === 1 ? 'is not a number' : 'are not numbers';
  throw new DataError(`${column}: ${shown.join(', ')} ${what}, though ${numbers} of its ${numbers + strays.length} values are; ${remedy}`);
}

/** R's type.convert: the numbers it reads from an unquoted field (NA is handled as missing before). */
const NUMBER_FIELD = /^\s*[+-]?(?:(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|Inf|NaN)\s*$/;
const LOGICAL_FIELD = new Map([
  ['TRUE', true],
  ['T', true],
  ['true', true],
  ['True', true],
  ['FALSE', false],
  ['F', false],
  ['false', false],
  ['False', false],
]);

const QUOTE = 34;
const COMMA = 44;
const CR = 13;
const LF = 10;

/**
 * Reads a CSV file (RFC 4180: quoted fields with "" escapes, CRLF or LF line ends) as R's read.csv
 * would after write.csv: quoted fields are labels, unquoted numbers are numbers; a column is numeric
 * when every non-missing field is an unquoted number, boolean when every one is an unquoted TRUE/FALSE.
 * Empty fields and NA are missing. `options.types` sets columns' types (see setColumnTypes). A
 * column of numbers with a few labels among them is refused (see `refuseStrayLabels`) unless
 * `options.types` gives its type.
 */
export function readCSV(path: string, options: { types?: Record<string, ColumnType> } = {}): Table {
  const file = basename(path);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new DataError(code === 'ENOENT' ? `cannot read CSV file '${path}': no such file` : `cannot read CSV file '${path}': ${(err as Error).message}`);
  }
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const { header, fields, quoted, lines } = splitCSV(text, file);
  const names = header.map((name, j) => (name === '' ? (j === 0 ? 'X' : `X.${j}`) : name));
  const duplicate = names.find((name, j) => names.indexOf(name) !== j);
  if (duplicate !== undefined) throw new DataError(`CSV file '${file}' has two columns named '${duplicate}'`);
  const columns = new Map<string, Column>();
  names.forEach((name, j) => {
    const column = csvColumn(fields[j], quoted[j]);
    if (column.kind === 'label' && options.types?.[name] === undefined) {
      refuseStrayLabels(
        fields[j].length,
        (i) => (isMissingField(fields[j][i], quoted[j][i]) ? 'missing' : !quoted[j][i] && NUMBER_FIELD.test(fields[j][i]) ? 'number' : 'label'),
        (i) => fields[j][i],
        (i) => `row ${i + 1} (line ${lines[i]})`,
        `CSV file '${file}', column '${name}'`,
        `correct the value (NA where it is missing), or read the column as a factor: readCSV(path, { types: { ${name}: 'factor' } }), or --factor ${name} on the command line`,
      );
    }
    columns.set(name, column);
  });
  const table = tableOf(columns, file);
  return options.types ? setColumnTypes(table, options.types) : table;
}

function csvColumn(fields: string[], quoted: boolean[]): Column {
  const n = fields.length;
  let numeric = true;
  let logical = true;
  for (let i = 0; i < n && (numeric || logical); i++) {
    const field = fields[i];
    if (isMissingField(field, quoted[i])) continue;
    if (quoted[i]) numeric = logical = false;
    if (numeric && !NUMBER_FIELD.test(field)) numeric = false;
    if (logical && !LOGICAL_FIELD.has(field)) logical = false;
  }
  if (numeric) {
    const values = new Float64Array(n);
    for (let i = 0; i < n; i++) values[i] = isMissingField(fields[i], quoted[i]) ? NaN : parseNumberField(fields[i]);
    return { kind: 'numeric', values };
  }
  const labels: (string | null)[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const field = fields[i];
    labels[i] = isMissingField(field, quoted[i]) ? null : logical ? (LOGICAL_FIELD.get(field) ? 'TRUE' : 'FALSE') : field;
  }
  return logical ? { kind: 'label', values: labels, boolean: true } : { kind: 'label', values: labels };
}

/** Empty fields and NA are missing; R's read.csv reads "NA" as missing even when quoted. */
function isMissingField(field: string, quoted: boolean): boolean {
  return field === '' || field === 'NA' || (!quoted && field.trim() === '');
}

function parseNumberField(field: string): number {
  const t = field.trim();
  if (t.endsWith('Inf')) return t.startsWith('-') ? -Infinity : Infinity;
  return Number(t);
}

/**
 * Splits CSV text into the header and, per column, the fields and whether each was quoted.
 * Blank lines are skipped; a row whose width differs from the header's is an error naming its line.
 */
function splitCSV(text: string, file: string): { header: string[]; fields: string[][]; quoted: boolean[][]; lines: number[] } {
  const n = text.length;
  let header: string[] | undefined;
  let fields: string[][] = [];
  let quoted: boolean[][] = [];
  const lines: number[] = [];
  const rowFields: string[] = [];
  const rowQuoted: boolean[] = [];
  let i = 0;
  let line = 1;
  while (i < n) {
    const startLine = line;
    const c0 = text.charCodeAt(i);
    if (c0 === LF || c0 === CR) {
      i += c0 === CR && text.charCodeAt(i + 1) === LF ? 2 : 1;
      line++;
      continue;
    }
    rowFields.length = 0;
    rowQuoted.length = 0;
    for (;;) {
      if (text.charCodeAt(i) === QUOTE) {
        const openLine = line;
        let value = '';
        let start = ++i;
        for (;;) {
          if (i >= n) throw new DataError(`CSV file '${file}' line ${openLine}: a quoted field is never closed`);
          const c = text.charCodeAt(i);
          if (c === QUOTE) {
            if (text.charCodeAt(i + 1) === QUOTE) {
              value += text.slice(start, i + 1);
              i += 2;
              start = i;
              continue;
            }
            value += text.slice(start, i);
            i++;
            break;
          }
          if (c === LF) line++;
          i++;
        }
        const next = text.charCodeAt(i);
        if (i < n && next !== COMMA && next !== LF && next !== CR) {
          throw new DataError(`CSV file '${file}' line ${line}: unexpected text after a closing quote`);
        }
        rowFields.push(value);
        rowQuoted.push(true);
      } else {
        const start = i;
        while (i < n) {
          const c = text.charCodeAt(i);
          if (c === COMMA || c === LF || c === CR) break;
          i++;
        }
        rowFields.push(text.slice(start, i));
        rowQuoted.push(false);
      }
      if (i < n && text.charCodeAt(i) === COMMA) {
        i++;
        continue;
      }
      break;
    }
    if (i < n) {
      i += text.charCodeAt(i) === CR && text.charCodeAt(i + 1) === LF ? 2 : 1;
      line++;
    }
    if (!header) {
      header = [...rowFields];
      fields = header.map(() => []);
      quoted = header.map(() => []);
    } else if (rowFields.length !== header.length) {
      throw new DataError(`CSV file '${file}' line ${startLine}: expected ${header.length} fields like the header, found ${rowFields.length}`);
    } else {
      for (let j = 0; j < rowFields.length; j++) {
        fields[j].push(rowFields[j]);
        quoted[j].push(rowQuoted[j]);
      }
      lines.push(startLine);
    }
  }
  if (!header) throw new DataError(`CSV file '${file}' is empty`);
  return { header, fields, quoted, lines };
}
