/**
 * danfojs, loaded on first use: requiring it costs most of a second (TensorFlow.js comes with it),
 * so neurolmm loads it only when a DataFrame is asked for, never to fit.
 */
import type * as Danfo from 'danfojs/dist/danfojs-browser/src/index';
import type { DataFrame } from 'danfojs/dist/danfojs-browser/src/index';
import type { Table } from './types';

type DanfoNamespace = typeof Danfo;
/** The danfojs module's type, as an interface so that `const dfd = danfo()` has a nameable type. */
export interface DanfoModule extends DanfoNamespace {}
// danfojs's own classes re-exported, not aliased: tslab emits declarations for every cell, and
// TypeScript can name the type of `const means = frame.groupby(...).mean()` only through a module
// the notebook imports (danfojs's methods return its base classes)
export type { DataFrame, Series } from 'danfojs/dist/danfojs-browser/src/index';
export type { default as DataFrameBase } from 'danfojs/dist/danfojs-base/core/frame';
export type { default as SeriesBase } from 'danfojs/dist/danfojs-base/core/series';

let loaded: DanfoModule | undefined;

/** The danfojs module (`const dfd = danfo(); new dfd.DataFrame(...)`), required on the first call. */
export function danfo(): DanfoModule {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (loaded ??= require('danfojs') as DanfoModule);
}

/** A column of a result frame: numbers (NaN missing), labels (null missing) or booleans. */
export type FrameColumn = ArrayLike<number> | readonly (string | null)[] | readonly boolean[];

/** danfojs's dtype of a column, given explicitly so that labels such as "308" stay strings. */
function dtypeOf(values: unknown[]): string {
  const present = values.filter((v) => v !== null && v !== undefined);
  if (present.some((v) => typeof v === 'string')) return 'string';
  if (present.length && present.every((v) => typeof v === 'boolean')) return 'boolean';
  return values.every((v) => Number.isInteger(v)) ? 'int32' : 'float32';
}

/** A DataFrame from named columns in order (typed arrays become the plain arrays danfojs holds). */
export function frameOf(columns: [string, FrameColumn][]): DataFrame {
  const data: Record<string, unknown[]> = {};
  const names: string[] = [];
  const dtypes: string[] = [];
  for (const [name, values] of columns) {
    const array = Array.isArray(values) ? (values as unknown[]) : Array.from(values as ArrayLike<number>);
    data[name] = array;
    names.push(name);
    dtypes.push(dtypeOf(array));
  }
  return new (danfo().DataFrame)(data, { columns: names, dtypes });
}

/** A table's columns for a frame: numbers, factors as their labels, R logicals as booleans. */
export function tableColumns(table: Table): [string, FrameColumn][] {
  return table.names.map((name): [string, FrameColumn] => {
    const column = table.column(name)!;
    if (column.kind === 'numeric') return [name, column.values];
    return [name, column.boolean ? (column.values.map((v) => (v === null ? null : v === 'TRUE')) as FrameColumn) : column.values];
  });
}

/** A table as a DataFrame. */
export function tableToFrame(table: Table): DataFrame {
  return frameOf(tableColumns(table));
}
