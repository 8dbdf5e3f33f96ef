/**
 * Residual diagnostics, as plot(fit) and qqnorm(resid(fit, scaled = TRUE)) show them in R, for
 * mixed models and linear models alike.
 */
import { PlotlyFigure, literalLabels } from '../display/plotly';
import type { ModelFrame } from '../frame/types';
import { normalQuantile } from '../stats/distributions';

/** What the diagnostics need of a fitted model (LinearMixedModel and LinearModel have it). */
export interface DiagnosedModel {
  readonly formula: string;
  readonly sigma: number;
  readonly frame: ModelFrame;
  fitted(): Float64Array;
  residuals(): Float64Array;
}

/** Hover labels naming each observation by its 1-based row in the data. */
function rowLabels(model: DiagnosedModel): string[] {
  return Array.from(model.frame.rows, (row) => `row ${row + 1}`);
}

/** Residuals (y - fitted) against fitted values, with the zero line. */
export function residualsVsFitted(model: DiagnosedModel): PlotlyFigure {
  const fitted = Array.from(model.fitted());
  const residuals = Array.from(model.residuals());
  const low = Math.min(...fitted);
  const high = Math.max(...fitted);
  return new PlotlyFigure(
    literalLabels({
      data: [
        { type: 'scatter', mode: 'markers', name: 'observations', x: fitted, y: residuals, text: rowLabels(model), marker: { size: 6, opacity: 0.7 } },
        { type: 'scatter', mode: 'lines', name: 'zero', x: [low, high], y: [0, 0], line: { dash: 'dash', color: 'gray' }, hoverinfo: 'skip' },
      ],
      layout: {
        title: { text: `Residuals vs fitted: ${model.formula}` },
        xaxis: { title: { text: 'fitted values' } },
        yaxis: { title: { text: 'residuals' } },
        showlegend: false,
      },
    }),
  );
}

/** R's ppoints(n): probabilities (i - a) / (n + 1 - 2a), a = 3/8 for n <= 10, else 1/2. */
export function plottingPositions(n: number): Float64Array {
  const a = n <= 10 ? 3 / 8 : 1 / 2;
  return Float64Array.from({ length: n }, (_, i) => (i + 1 - a) / (n + 1 - 2 * a));
}

/** R's default (type 7) sample quantile of sorted values. */
function sortedQuantile(sorted: ArrayLike<number>, p: number): number {
  const h = (sorted.length - 1) * p;
  const lo = Math.floor(h);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo] + (h - lo) * (sorted[hi] - sorted[lo]);
}

/**
 * Normal QQ plot of the scaled residuals (residuals / sigma, lme4's resid(fit, scaled = TRUE)):
 * sorted residuals against qnorm(ppoints(n)), with R's qqline through the quartiles.
 */
export function qqPlot(model: DiagnosedModel): PlotlyFigure {
  const scaled = Array.from(model.residuals(), (r) => r / model.sigma);
  const labels = rowLabels(model);
  const order = scaled.map((_, i) => i).sort((a, b) => scaled[a] - scaled[b]);
  const sample = order.map((i) => scaled[i]);
  const theoretical = Array.from(plottingPositions(sample.length), normalQuantile);
  const [x1, x2] = [normalQuantile(0.25), normalQuantile(0.75)];
  const [y1, y2] = [sortedQuantile(sample, 0.25), sortedQuantile(sample, 0.75)];
  const slope = (y2 - y1) / (x2 - x1);
  const ends = [theoretical[0], theoretical[theoretical.length - 1]];
  return new PlotlyFigure(
    literalLabels({
      data: [
        {
          type: 'scatter',
          mode: 'markers',
          name: 'scaled residuals',
          x: theoretical,
          y: sample,
          text: order.map((i) => labels[i]),
          marker: { size: 6, opacity: 0.7 },
        },
        {
          type: 'scatter',
          mode: 'lines',
          name: 'qqline',
          x: ends,
          y: ends.map((x) => y1 + slope * (x - x1)),
          line: { dash: 'dash', color: 'gray' },
          hoverinfo: 'skip',
        },
      ],
      layout: {
        title: { text: `Normal QQ plot of scaled residuals: ${model.formula}` },
        xaxis: { title: { text: 'standard normal quantiles' } },
        yaxis: { title: { text: 'scaled residuals' } },
        showlegend: false,
      },
    }),
  );
}
