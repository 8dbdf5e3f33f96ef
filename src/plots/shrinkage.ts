/**
 * Shrinkage plot: per level of a grouping factor, the no-pooling estimates (a separate least-squares
 * fit of the model's fixed-effects formula to that level's data alone) against the partial-pooling
 * estimates of the mixed model (lme4's coef(fit): fixed effects plus the level's conditional modes),
 * with an arrow from each no-pooling point to its partial-pooling point and the population
 * estimate (the fixed effects). Complete pooling would put every level on the population point.
 */
import { PlotlyFigure, literalLabels } from '../display/plotly';
import { ModelError } from '../errors';
import { coef } from '../inference/conditional';
import { qrCoef, qrDecompose } from '../linalg/qr';
import type { LinearMixedModel } from '../lmm/model';
import type { Trace } from './layout';
import { chooseGroup } from './ranef';

export interface ShrinkageOptions {
  /** grouping factor (default: the model's first) */
  group?: string;
  /** one or two coefficients to show (default: the first two random effects of the factor's first term) */
  parameters?: string[];
}

export interface ShrinkageEstimates {
  levels: string[];
  parameters: string[];
  /** per parameter, per level: the level's own least-squares estimate (NaN when that fit cannot estimate it) */
  noPooling: Float64Array[];
  /** per parameter, per level: the mixed model's coef() */
  partialPooling: Float64Array[];
  /** per parameter: the fixed effect (0 for a random effect without fixed counterpart) */
  population: number[];
}

/**
 * The numbers the shrinkage plot shows. The per-level fits use the fixed-effects model matrix
 * restricted to the level's rows (columns dependent on earlier ones dropped, as R's lm does).
 */
export function shrinkageEstimates(model: LinearMixedModel, options: ShrinkageOptions = {}): ShrinkageEstimates {
  const group = chooseGroup(model, options.group, 'shrinkagePlot');
  const term = model.terms.find((t) => t.group === group)!;
  const parameters = options.parameters ?? term.names.slice(0, 2);
  const fixed = model.fixef();
  if (parameters.length < 1 || parameters.length > 2) throw new ModelError('shrinkagePlot: give one or two parameters');
  for (const name of parameters) {
    if (!(name in fixed)) {
      throw new ModelError(
        `shrinkagePlot: '${name}' is not a fixed-effect coefficient of ${model.formula}, so no per-${group} fit estimates it (coefficients: ${model.xNames.join(', ')})`,
      );
    }
  }
  const { n, p } = model;
  const X = model.frame.X;
  const y = model.frame.y!;
  const columns = parameters.map((name) => model.xNames.indexOf(name));
  const rowsOfLevel: number[][] = term.levels.map(() => []);
  for (let r = 0; r < n; r++) rowsOfLevel[term.codes[r]].push(r);
  const noPooling = parameters.map(() => new Float64Array(term.nlevels).fill(NaN));
  rowsOfLevel.forEach((rows, l) => {
    const m = rows.length;
    if (m === 0) return;
    const Xl = new Float64Array(m * p);
    for (let j = 0; j < p; j++) rows.forEach((r, i) => (Xl[i + j * m] = X[r + j * n]));
    const qr = qrDecompose(Xl, m, p);
    // a level with no residual degrees of freedom left still has estimates, as in R
    const beta = qrCoef(
      qr,
      Float64Array.from(rows, (r) => y[r]),
    );
    columns.forEach((j, a) => (noPooling[a][l] = beta[j]));
  });
  const coefficients = new Map(coef(model)[group].map((row) => [row.level, row]));
  return {
    levels: [...term.levels],
    parameters,
    noPooling,
    partialPooling: parameters.map((name) => Float64Array.from(term.levels, (level) => coefficients.get(level)![name] as number)),
    population: parameters.map((name) => fixed[name]),
  };
}

type Points = { x: ArrayLike<number | string>; y: ArrayLike<number | string> };

/** Segments from each no-pooling point to its partial-pooling point, as one line trace (null-separated). */
function arrows(from: Points, to: Points): Trace {
  const x: (number | string | null)[] = [];
  const y: (number | string | null)[] = [];
  for (let l = 0; l < from.x.length; l++) {
    x.push(from.x[l], to.x[l], null);
    y.push(from.y[l], to.y[l], null);
  }
  return { type: 'scatter', mode: 'lines', name: 'shrinkage', x, y, line: { color: 'lightgray' }, hoverinfo: 'skip', showlegend: false };
}

export function shrinkagePlot(model: LinearMixedModel, options: ShrinkageOptions = {}): PlotlyFigure {
  const e = shrinkageEstimates(model, options);
  const group = chooseGroup(model, options.group, 'shrinkagePlot');
  const oneParameter = e.parameters.length === 1;
  // one parameter: estimates on x, levels on y; two: the first against the second
  const points = (values: Float64Array[]): Points => (oneParameter ? { x: values[0], y: e.levels } : { x: values[0], y: values[1] });
  const noPooling = points(e.noPooling);
  const partialPooling = points(e.partialPooling);
  const population = oneParameter
    ? { mode: 'lines', x: [e.population[0], e.population[0]], y: [e.levels[0], e.levels[e.levels.length - 1]], line: { color: 'black', dash: 'dash' } }
    : { mode: 'markers', x: [e.population[0]], y: [e.population[1]], marker: { size: 14, symbol: 'x', color: 'black' } };
  const data: Trace[] = [
    arrows(noPooling, partialPooling),
    { type: 'scatter', mode: 'markers', name: `no pooling (per-${group} fits)`, ...noPooling, text: e.levels, marker: { size: 8, color: '#1f77b4' } },
    { type: 'scatter', mode: 'markers', name: 'partial pooling (mixed model)', ...partialPooling, text: e.levels, marker: { size: 8, color: '#d62728' } },
    { type: 'scatter', name: 'population (fixed effects)', ...population },
  ];
  return new PlotlyFigure(
    literalLabels({
      data,
      layout: {
        title: { text: `Shrinkage of per-${group} estimates: ${model.formula}` },
        xaxis: { title: { text: e.parameters[0] } },
        yaxis: oneParameter ? { title: { text: group }, type: 'category' } : { title: { text: e.parameters[1] } },
        height: 500,
      },
    }),
  );
}
