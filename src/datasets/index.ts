/**
 * Example data shipped with the package (the CSV files sit in src/datasets, listed in package.json
 * "files"): the data of lme4's and nlme's examples, as tables named like their R datasets.
 */
import path from 'node:path';
import { readCSV, tableOf } from '../frame/table';
import type { Column, Table } from '../frame/types';
import { tableToFrame, type DataFrame } from '../frame/danfo';

export interface DatasetOptions {
  /** a danfojs DataFrame (factors as string columns) instead of a table; loads danfojs */
  dataFrame?: boolean;
}

/** A dataset as a table, or as a DataFrame with `{ dataFrame: true }`. */
export interface Dataset {
  (options?: { dataFrame?: false }): Table;
  (options: { dataFrame: true }): DataFrame;
  (options?: DatasetOptions): Table | DataFrame;
}

/** The CSV folder, found from the package root (this file runs from dist/src/datasets). */
export const DATASETS_DIR = path.resolve(__dirname, '../../../src/datasets');

function dataset(name: string): Dataset {
  return ((options: DatasetOptions = {}) => {
    const read = readCSV(path.join(DATASETS_DIR, `${name}.csv`));
    // named like the R dataset, so summaries print "Data: sleepstudy"
    const table = tableOf(new Map(read.names.map((column): [string, Column] => [column, read.column(column)!])), name);
    return options.dataFrame ? tableToFrame(table) : table;
  }) as Dataset;
}

export const datasets = {
  /** lme4's sleepstudy: Reaction (ms) by Days of sleep deprivation for 18 Subjects (180 rows). */
  sleepstudy: dataset('sleepstudy'),
  /** nlme's Pixel: CT pixel intensity by day, per Dog (10) and Side (L/R) of the lymph node (102 rows). */
  Pixel: dataset('Pixel'),
  /** nlme's Machines: productivity score of 6 Workers on 3 Machines, 3 repetitions each (54 rows). */
  Machines: dataset('Machines'),
};
