/**
 * The R references of test/reference/make-r-extensions.R (contrast codings, emmeans, R2/ICC,
 * Kenward-Roger) and the data as that script makes it: the fixtures' CSV files with the same
 * column types.
 */
import * as fs from 'node:fs';
import { readCSV, setColumnTypes } from '../src/frame/table';
import type { Table } from '../src/frame/types';
import { fixture } from './helpers';

export const rExtensions = () => JSON.parse(fs.readFileSync(fixture('r-extensions.json'), 'utf8'));

/** cake with temperature an ordered factor (175 < 185 < ... < 225), as lme4's own cake. */
export const cake = (): Table => readCSV(fixture('cake.csv'), { types: { temperature: 'ordered' } });

export const machines = (): Table => readCSV(fixture('Machines.csv'));

/** sleepstudy with phase (Days < 5: early, else late) and DayF (Days as a factor). */
export function sleepstudy(): Table {
  const table = readCSV(fixture('sleepstudy.csv'));
  const days = table.column('Days')!.values as Float64Array;
  return setColumnTypes(
    {
      ...Object.fromEntries(table.names.map((name) => [name, table.column(name)!.values])),
      phase: Array.from(days, (d) => (d < 5 ? 'early' : 'late')),
      DayF: days,
    },
    { DayF: 'factor' },
  );
}

/** Oats with N, the nitrogen dose as a factor (levels 0, 0.2, 0.4, 0.6). */
export function oats(): Table {
  const table = readCSV(fixture('Oats.csv'));
  const columns = Object.fromEntries(table.names.map((name) => [name, table.column(name)!.values]));
  return setColumnTypes({ ...columns, N: columns.nitro }, { N: 'factor' });
}

export const datasets: Record<string, () => Table> = { cake, Machines: machines, sleepstudy, Oats: oats, Penicillin: () => readCSV(fixture('Penicillin.csv')) };
