/**
 * Shared pieces of the inference tests: the R reference fits, and a fitted model viewed at
 * lme4's theta, so that the inference code can be checked against lmerTest tightly even where
 * lme4's optimizer stopped short of the optimum our engine reaches.
 */
import assert from 'node:assert/strict';
import { readCSV } from '../src/frame/table';
import { lmer } from '../src/lmm/lmer';
import type { LinearMixedModel } from '../src/lmm/model';
import { profiledSigma } from '../src/lmm/objective';
import { extraReferences, fixture, lme4References, relativeError, type ReferenceFit } from './helpers';

export interface InferenceReference extends ReferenceFit {
  ranef_condvar?: Record<string, { names: string[]; levels: string[]; postVar: number[][] }[]>;
  coef?: Record<string, Record<string, number | string>[]>;
  fitted_head?: number[];
  residuals_head?: number[];
  confint_wald?: { term: string[]; level: number; lower: number[]; upper: number[] };
}

/** The 12 shared references and the 17 extra R fits, InstEval left out (a two-minute fit). */
export function inferenceReferences(): Record<string, InferenceReference> {
  const all: Record<string, InferenceReference> = { ...lme4References(), ...extraReferences() };
  delete all.insteval;
  return all;
}

export function fitReference(ref: ReferenceFit): LinearMixedModel {
  return lmer(ref.formula, readCSV(fixture(`${ref.data}.csv`)), { REML: ref.REML });
}

/**
 * The model as if fitted at lme4's theta: a snapshot with theta, lambda, beta and sigma there
 * (computed with the model's deviance function, which leaves the model's own results alone).
 */
export function atTheta(model: LinearMixedModel, theta: number[]): LinearMixedModel {
  const e = model.devfun.evaluate(theta);
  assert.ok(e, 'lme4 theta must give a positive definite system');
  const sigma = profiledSigma(e, model.n, model.p, model.REML);
  const beta = model.system.solve().beta;
  const lambda = model.terms.map((t) => t.lambda.slice());
  return Object.create(model, { theta: { value: theta }, sigma: { value: sigma }, beta: { value: beta }, lambda: { value: lambda } }) as LinearMixedModel;
}

/** Relative error within `relative`, or absolute error within `absolute`; null in R is NA (NaN here). */
export function assertNear(actual: number, expected: number | null, relative: number, what: string, absolute = 0): void {
  if (expected === null) {
    assert.ok(Number.isNaN(actual), `${what}: expected NA, got ${actual}`);
    return;
  }
  const ok = relativeError(actual, expected) <= relative || Math.abs(actual - expected) <= absolute;
  assert.ok(ok, `${what}: got ${actual}, expected ${expected} (relative error ${relativeError(actual, expected).toExponential(2)})`);
}
