import * as path from 'node:path';
import { readCSV } from '../frame/table';
import { expandFormula } from '../formula/terms';
import { lm } from '../lmm/lm';
import { lmer } from '../lmm/lmer';
import { factorTypes, parseArgs, required } from './args';

/** `neurolmm fit`: lmer() when the formula has random-effects terms, lm() otherwise. */
export function runFit(argv: string[]): string {
  const args = parseArgs(argv, ['data', 'formula', 'factor'], ['ml', 'json']);
  const file = required(args, 'data');
  const formula = required(args, 'formula');
  const table = readCSV(file, { types: factorTypes(args) });
  const dataName = path.basename(file).replace(/\.csv$/i, '');
  const hasRandom = expandFormula(formula).random.length > 0;
  const json = args.flags.has('json');
  if (!hasRandom) {
    const model = lm(formula, table, { dataName });
    return json ? JSON.stringify(model.toJSON(), null, 2) : model.summary();
  }
  const model = lmer(formula, table, { REML: !args.flags.has('ml'), dataName });
  return json ? JSON.stringify(model.toJSON(), null, 2) : model.summary();
}
