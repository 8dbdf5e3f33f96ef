/**
 * `neurolmm anova --data F --formula A --formula B [--json] [--ml]`: lme4's likelihood-ratio
 * table for two or more models fitted to one data file (lm for formulas without random
 * effects); with a single formula, lmerTest's Type III (or --type 1) F-test table.
 */
import * as path from 'node:path';
import { ModelError } from '../errors';
import { expandFormula } from '../formula/terms';
import { readCSV, type ColumnType } from '../frame/table';
import { anovaTable, likelihoodRatioTable, type FittedModel } from '../inference/anova';
import { lm } from '../lmm/lm';
import { lmer } from '../lmm/lmer';

export interface AnovaArgs {
  /** CSV file */
  data: string;
  /** types of columns of the CSV file (--factor) */
  types?: Record<string, ColumnType>;
  formulas: string[];
  json: boolean;
  /** fit with maximum likelihood from the start (no REML refit message) */
  ml?: boolean;
  /** single formula: the anova type (default 3) */
  type?: 1 | 3;
  /** 50:50 chi-square mixture p-values for a variance component on the boundary */
  boundary?: boolean;
}

export function runAnova(args: AnovaArgs): string {
  if (args.formulas.length === 0) throw new ModelError('anova needs at least one --formula');
  const table = readCSV(args.data, { types: args.types });
  const dataName = path.basename(args.data).replace(/\.csv$/i, '');
  const models: FittedModel[] = args.formulas.map((formula) =>
    expandFormula(formula).random.length > 0 ? lmer(formula, table, { REML: !args.ml, dataName }) : lm(formula, table, { dataName }),
  );
  const result = models.length === 1 ? anovaTable(models[0], { type: args.type ?? 3 }) : likelihoodRatioTable(models, { boundary: args.boundary });
  return args.json ? JSON.stringify(result.toJSON(), null, 2) : result.toString();
}
