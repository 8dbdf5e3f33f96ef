/**
 * One panel per level of a grouping factor (lattice's xyplot(y ~ x | Subject) with fitted lines):
 * the level's data, the population line X beta and the level's own line, the model's fitted values
 * X beta + Z b.
 */
import { PlotlyFigure, literalLabels } from '../display/plotly';
import { ModelError } from '../errors';
import type { LinearMixedModel } from '../lmm/model';
import { gridLayout, panelAxes, Trace } from './layout';
import { chooseGroup } from './ranef';

export interface SubjectPanelsOptions {
  /** the x variable: a fixed-effect column of the model ("Days") */
  x: string;
  /** grouping factor with one panel per level (default: the model's first) */
  group?: string;
  /** panels per row (default 6) */
  columns?: number;
}

export function subjectPanels(model: LinearMixedModel, options: SubjectPanelsOptions): PlotlyFigure {
  const { n, p } = model;
  const column = model.xNames.indexOf(options.x);
  if (column < 0) {
    throw new ModelError(`subjectPanels: x '${options.x}' is not a fixed-effect column of ${model.formula} (columns: ${model.xNames.join(', ')})`);
  }
  const group = chooseGroup(model, options.group, 'subjectPanels');
  const term = model.terms.find((t) => t.group === group)!;
  const X = model.frame.X;
  const y = model.frame.y!;
  const fitted = model.fitted();
  const population = new Float64Array(n);
  for (let j = 0; j < p; j++) for (let r = 0; r < n; r++) population[r] += X[r + j * n] * model.beta[j];

  const rowsOfLevel: number[][] = term.levels.map(() => []);
  for (let r = 0; r < n; r++) rowsOfLevel[term.codes[r]].push(r);
  const data: Trace[] = [];
  const style = [
    { name: 'data', values: y, mode: 'markers', marker: { color: '#1f77b4', size: 5 } },
    { name: 'population (fixed effects)', values: population, mode: 'lines', line: { color: 'gray', dash: 'dash' } },
    { name: `${group}-specific (fitted)`, values: fitted, mode: 'lines', line: { color: '#d62728' } },
  ];
  rowsOfLevel.forEach((rows, l) => {
    rows.sort((a, b) => X[a + column * n] - X[b + column * n]);
    const x = rows.map((r) => X[r + column * n]);
    for (const { name, values, ...look } of style) {
      data.push({ type: 'scatter', name, legendgroup: name, showlegend: l === 0, x, y: rows.map((r) => values[r]), ...look, ...panelAxes(l) });
    }
  });
  const layout = gridLayout({
    panels: term.nlevels,
    columns: options.columns ?? 6,
    titles: term.levels.map((level) => `${group} ${level}`),
    xTitle: options.x,
    yTitle: model.frame.response ?? 'response',
    shareX: true,
    shareY: true,
  });
  return new PlotlyFigure(
    literalLabels({
      data,
      layout: {
        ...layout,
        title: { text: `${model.formula}: data and fitted lines per ${group}` },
        margin: { t: 60, l: 60, r: 20, b: 100 },
        legend: { orientation: 'h', yref: 'container', y: 0, yanchor: 'bottom' },
      },
    }),
  );
}
