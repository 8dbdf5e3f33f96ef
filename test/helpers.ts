import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { LinearMixedModel } from '../src/lmm/model';

/** The repository root (tests run from dist/test). */
export const repoRoot = path.resolve(__dirname, '..', '..');
export const fixture = (name: string): string => path.join(repoRoot, 'test', 'fixtures', name);

export interface ReferenceFit {
  data: string;
  formula: string;
  REML: boolean;
  nobs: number;
  fixef: Record<string, number>;
  coefficients: { term: string[]; estimate: number[]; se: number[]; df: number[]; t: number[]; p: number[] };
  varcorr: { grp: string; var1: string | null; var2: string | null; vcov: number; sdcor: number }[];
  sigma: number;
  logLik: number;
  REMLcrit?: number | null;
  deviance?: number | null;
  AIC: number;
  BIC: number;
  theta: number[];
  singular: boolean;
  ranef: Record<string, ({ level: string } & Record<string, number | string>)[]> | null;
  anova_type1?: Record<string, number | string>[] | null;
  anova_type3?: Record<string, number | string>[] | null;
  warnings?: string[];
}

/** lme4 1.1-31 / lmerTest 3.1-3 reference results for the 12 models (copied from shared/reference). */
export function lme4References(): Record<string, ReferenceFit> {
  return JSON.parse(fs.readFileSync(fixture('lme4-fits.json'), 'utf8'));
}

export function relativeError(actual: number, expected: number): number {
  return Math.abs(actual - expected) / Math.max(Math.abs(expected), 1e-300);
}

/** R references for data the engine was not built on (test/reference/make-references.R). */
export function extraReferences(): Record<string, ReferenceFit> {
  return JSON.parse(fs.readFileSync(fixture('extra-fits.json'), 'utf8'));
}

/**
 * Asserts that the model's analytic gradient at theta (REML criterion or deviance) matches
 * central differences of its objective with step h, to `tolerance` relative (absolute below 1).
 */
export function assertGradientMatchesDifferences(model: LinearMixedModel, theta: number[], REML: boolean, h: number, tolerance: number): void {
  assert.ok(model.system.evaluate(theta));
  const analytic = model.system.gradient(REML);
  assert.ok(analytic, 'gradient available');
  theta.forEach((_, i) => {
    const up = theta.slice();
    const down = theta.slice();
    up[i] += h;
    down[i] -= h;
    const numeric = (model.objectiveAt(up) - model.objectiveAt(down)) / (2 * h);
    assert.ok(Math.abs(analytic![i] - numeric) <= tolerance * Math.max(1, Math.abs(numeric)), `theta[${i}]: ${analytic![i]} vs ${numeric}`);
  });
}
