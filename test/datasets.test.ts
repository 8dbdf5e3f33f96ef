/** The shipped datasets are the lme4 reference data: same rows, and lmer on them gives lme4's fits. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { datasets, lmer } from '../src/index';
import { lme4References, relativeError } from './helpers';

const REFERENCES: [keyof typeof datasets, string, number][] = [
  ['sleepstudy', 'sleepstudy_full', 180],
  ['Pixel', 'pixel_nested', 102],
  ['Machines', 'machines_nested', 54],
];

for (const [name, fitName, nrows] of REFERENCES) {
  test(`datasets.${name}() reproduces lme4's ${fitName} fit`, () => {
    const reference = lme4References()[fitName];
    const table = datasets[name]();
    assert.equal(table.nrows, nrows);
    assert.equal(table.source, name);
    const fit = lmer(reference.formula, table);
    assert.match(fit.summary(), new RegExp(`^   Data: ${name}$`, 'm'));
    for (const [term, estimate] of Object.entries(reference.fixef)) {
      assert.ok(relativeError(fit.fixef()[term], estimate) < 1e-5, `${term}: ${fit.fixef()[term]} vs ${estimate}`);
    }
    assert.ok(Math.abs(fit.objective - reference.REMLcrit!) < 1e-6, `REML criterion ${fit.objective} vs ${reference.REMLcrit}`);
  });
}
