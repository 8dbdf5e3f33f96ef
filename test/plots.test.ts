/**
 * The plots' figure data are the model's numbers: fitted values and residuals, lme4's scaled
 * residuals and conditional modes, hand-derived conditional variances, and per-subject least
 * squares computed here independently of the library.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { datasets, lm, lmer, ModelError } from '../src/index';
import { caterpillarPlot, plottingPositions, qqPlot, residualsVsFitted, shrinkagePlot, subjectPanels } from '../src/plots';
import { lme4References, relativeError } from './helpers';

type Trace = { name?: string; x: number[]; y: (number | string)[]; error_x?: { array: number[] }; xaxis?: string };

const sleepstudy = datasets.sleepstudy();
const reaction = sleepstudy.column('Reaction')!.values as Float64Array;
const days = sleepstudy.column('Days')!.values as Float64Array;
const subject = sleepstudy.column('Subject')!.values as string[];
const references = lme4References();
const fullModel = lmer('Reaction ~ Days + (Days | Subject)', sleepstudy);

/** The figure's traces as they reach the notebook (typed arrays become plain arrays). */
function traces(figure: { toMimeBundle(): Record<string, unknown> }): Trace[] {
  return (figure.toMimeBundle()['application/vnd.plotly.v1+json'] as { data: Trace[] }).data;
}

function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tolerance: number, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; i++) {
    assert.ok(Math.abs(actual[i] - expected[i]) <= tolerance * Math.max(1, Math.abs(expected[i])), `${what}[${i}]: ${actual[i]} vs ${expected[i]}`);
  }
}

/** Per-subject least squares of Reaction on Days: closed-form simple regression. */
function perSubjectOls(): Map<string, { intercept: number; slope: number }> {
  const out = new Map<string, { intercept: number; slope: number }>();
  for (const level of new Set(subject)) {
    const rows = subject.map((s, i) => (s === level ? i : -1)).filter((i) => i >= 0);
    const mx = rows.reduce((s, i) => s + days[i], 0) / rows.length;
    const my = rows.reduce((s, i) => s + reaction[i], 0) / rows.length;
    const sxy = rows.reduce((s, i) => s + (days[i] - mx) * (reaction[i] - my), 0);
    const sxx = rows.reduce((s, i) => s + (days[i] - mx) ** 2, 0);
    out.set(level, { intercept: my - (sxy / sxx) * mx, slope: sxy / sxx });
  }
  return out;
}

test('residuals vs fitted shows fitted() against residuals(), which add up to the data', () => {
  const [points, zero] = traces(residualsVsFitted(fullModel));
  assert.deepEqual(points.x, Array.from(fullModel.fitted()));
  assert.deepEqual(points.y, Array.from(fullModel.residuals()));
  assertClose(
    points.x.map((f, i) => f + (points.y[i] as number)),
    reaction,
    1e-12,
    'fitted + residual',
  );
  assert.deepEqual(zero.y, [0, 0]);
  const ols = lm('Reaction ~ Days', sleepstudy);
  assert.deepEqual(traces(residualsVsFitted(ols))[0].x, Array.from(ols.fitted()));
});

test("QQ plot: sorted scaled residuals (lme4's range -3.9536 to 5.1793) against qnorm(ppoints(n))", () => {
  assertClose(plottingPositions(5), [0.625 / 5.25, 1.625 / 5.25, 2.625 / 5.25, 3.625 / 5.25, 4.625 / 5.25], 1e-15, 'ppoints(5)');
  assertClose(
    plottingPositions(12),
    Array.from({ length: 12 }, (_, i) => (i + 0.5) / 12),
    1e-15,
    'ppoints(12)',
  );
  const [points, line] = traces(qqPlot(fullModel));
  const scaled = Array.from(fullModel.residuals(), (r) => r / fullModel.sigma).sort((a, b) => a - b);
  assert.deepEqual(points.y, scaled);
  assert.equal((points.y[0] as number).toFixed(4), '-3.9536');
  assert.equal((points.y[179] as number).toFixed(4), '5.1793');
  // qnorm(0.5 / 180) (Python's NormalDist().inv_cdf) and the median of the normal quantiles
  assert.ok(Math.abs(points.x[0] - -2.7729212946086) < 1e-12, `${points.x[0]}`);
  assert.ok(Math.abs(points.x[89] + points.x[90]) < 1e-12);
  // qqline passes through the quartiles: (qnorm(.25), Q1) and (qnorm(.75), Q3), R's type 7 quantiles
  const quartile = (p: number) => {
    const h = 179 * p;
    return scaled[Math.floor(h)] + (h - Math.floor(h)) * (scaled[Math.floor(h) + 1] - scaled[Math.floor(h)]);
  };
  const slope = ((line.y[1] as number) - (line.y[0] as number)) / (line.x[1] - line.x[0]);
  const z = 0.6744897501960817;
  assert.ok(Math.abs((line.y[0] as number) + slope * (-z - line.x[0]) - quartile(0.25)) < 1e-12);
  assert.ok(Math.abs((line.y[0] as number) + slope * (z - line.x[0]) - quartile(0.75)) < 1e-12);
});

test("caterpillar plot: lme4's conditional modes with +-1.96 sd from the hand-derived conditional variance", () => {
  const reference = references.sleepstudy_ri;
  const model = lmer(reference.formula, sleepstudy);
  const [panel] = traces(caterpillarPlot(model));
  const expected = new Map(reference.ranef!.Subject.map((row) => [row.level, row['(Intercept)'] as number]));
  panel.y.forEach((level, i) => assert.ok(Math.abs(panel.x[i] - expected.get(String(level))!) < 1e-4, `${level}: ${panel.x[i]}`));
  for (let i = 1; i < panel.x.length; i++) assert.ok(panel.x[i - 1] <= panel.x[i], 'levels ordered by their mode');
  // random intercept, 10 observations per subject: Var(b | y) = 1 / (10 / sigma^2 + 1 / tau^2)
  const tau2 = model.varCorr()[0].vcov;
  const halfWidth = 1.959963984540054 * Math.sqrt(1 / (10 / model.sigma ** 2 + 1 / tau2));
  assertClose(panel.error_x!.array, new Array(18).fill(halfWidth), 1e-9, 'interval half-widths');
  const narrow = traces(caterpillarPlot(model, { level: 0.5 }))[0];
  assert.ok(Math.abs(narrow.error_x!.array[0] - halfWidth * (0.6744897501960817 / 1.959963984540054)) < 1e-9);

  const slopes = traces(caterpillarPlot(fullModel));
  assert.deepEqual(
    slopes.map((t) => [t.name, t.xaxis]),
    [
      ['(Intercept)', 'x'],
      ['Days', 'x2'],
    ],
  );
  const days308 = slopes[1].x[slopes[1].y.indexOf('308')];
  assert.ok(Math.abs(days308 - 9.19897576557) < 1e-4, `Days mode of 308: ${days308}`);
  assert.throws(
    () => caterpillarPlot(fullModel, { group: 'Day' }),
    (e) => e instanceof ModelError && /'Day' is not a grouping factor .* \(it has Subject\)/.test(e.message),
  );
});

test('subject panels: data, population line X beta and subject line equal to fitted() and to lme4 coef()', () => {
  const figure = traces(subjectPanels(fullModel, { x: 'Days' }));
  assert.equal(figure.length, 18 * 3);
  const fitted = fullModel.fitted();
  const reference = references.sleepstudy_full;
  const fixed = reference.fixef;
  reference.ranef!.Subject.forEach((row, panel) => {
    const [data, population, own] = figure.slice(3 * panel, 3 * panel + 3);
    const rows = subject
      .map((s, i) => (s === row.level ? i : -1))
      .filter((i) => i >= 0)
      .sort((a, b) => days[a] - days[b]);
    assert.equal(data.xaxis, panel === 0 ? 'x' : `x${panel + 1}`);
    assert.deepEqual(
      data.x,
      rows.map((i) => days[i]),
    );
    assert.deepEqual(
      data.y,
      rows.map((i) => reaction[i]),
    );
    assert.deepEqual(
      own.y,
      rows.map((i) => fitted[i]),
    );
    const intercept = fixed['(Intercept)'] + (row['(Intercept)'] as number);
    const slope = fixed.Days + (row.Days as number);
    assertClose(
      own.y as number[],
      rows.map((i) => intercept + slope * days[i]),
      1e-4,
      `subject ${row.level} line`,
    );
    assertClose(
      population.y as number[],
      rows.map((i) => fixed['(Intercept)'] + fixed.Days * days[i]),
      1e-6,
      'population line',
    );
  });
  assert.throws(
    () => subjectPanels(fullModel, { x: 'day' }),
    (e) => e instanceof ModelError && /x 'day' is not a fixed-effect column .*\(columns: \(Intercept\), Days\)/.test(e.message),
  );
});

test('shrinkage plot: per-subject OLS (no pooling) against lme4 coef() (partial pooling)', () => {
  const [arrows, noPooling, partialPooling, population] = traces(shrinkagePlot(fullModel));
  const ols = perSubjectOls();
  const levels = [...ols.keys()].sort();
  assert.deepEqual(
    levels,
    references.sleepstudy_full.ranef!.Subject.map((r) => r.level),
  );
  assertClose(
    noPooling.x,
    levels.map((l) => ols.get(l)!.intercept),
    1e-10,
    'OLS intercepts',
  );
  assertClose(
    noPooling.y as number[],
    levels.map((l) => ols.get(l)!.slope),
    1e-10,
    'OLS slopes',
  );
  assert.ok(Math.abs(noPooling.x[0] - 244.1927) < 1e-4 && Math.abs((noPooling.y[0] as number) - 21.7647) < 1e-4, 'subject 308: lm(Reaction ~ Days)');
  const fixed = references.sleepstudy_full.fixef;
  const ranef = references.sleepstudy_full.ranef!.Subject;
  assertClose(
    partialPooling.x,
    ranef.map((r) => fixed['(Intercept)'] + (r['(Intercept)'] as number)),
    1e-4,
    'coef intercepts',
  );
  assertClose(
    partialPooling.y as number[],
    ranef.map((r) => fixed.Days + (r.Days as number)),
    1e-4,
    'coef slopes',
  );
  assertClose(population.x.concat(population.y as number[]), [fixed['(Intercept)'], fixed.Days], 1e-6, 'fixed effects');
  assert.deepEqual(arrows.x.slice(0, 3), [noPooling.x[0], partialPooling.x[0], null]);

  // a random-intercept model: per-subject fits still estimate the intercept with a slope of their own
  const intercepts = traces(shrinkagePlot(lmer('Reaction ~ Days + (1 | Subject)', sleepstudy)))[1];
  assertClose(
    intercepts.x,
    levels.map((l) => ols.get(l)!.intercept),
    1e-10,
    'OLS intercepts, one parameter',
  );
  assert.deepEqual(intercepts.y, levels);
  assert.throws(
    () => shrinkagePlot(lmer('Reaction ~ 1 + (Days | Subject)', sleepstudy)),
    (e) => e instanceof ModelError && /'Days' is not a fixed-effect coefficient/.test(e.message),
  );
});

test('plots name rows, levels and panels for hovering and titles', () => {
  const model = lmer('Reaction ~ Days + (1 | Subject)', sleepstudy);
  const figure = subjectPanels(model, { x: 'Days', columns: 5 }).toJSON();
  const layout = figure.layout as { grid: { rows: number; columns: number }; annotations: { text: string }[] };
  assert.deepEqual([layout.grid.rows, layout.grid.columns], [4, 5]);
  assert.equal(layout.annotations[17].text, 'Subject 372');
  const text = (qqPlot(model).toJSON().data[0] as { text: string[] }).text;
  const sorted = Array.from(model.residuals())
    .map((r, i) => [r, i])
    .sort((a, b) => a[0] - b[0]);
  assert.equal(text[0], `row ${sorted[0][1] + 1}`);
  assert.ok(relativeError(reaction[sorted[0][1]] - model.fitted()[sorted[0][1]], sorted[0][0]) < 1e-12);
});
