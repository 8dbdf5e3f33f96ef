/**
 * Caterpillar plot of the random effects, lme4's dotplot(ranef(fit, condVar = TRUE)): per random
 * effect, the conditional modes of the levels with their conditional intervals, levels ordered by
 * the first effect's mode.
 */
import { PlotlyFigure, literalLabels } from '../display/plotly';
import { ModelError } from '../errors';
import { ranef } from '../inference/conditional';
import { normalQuantile } from '../stats/distributions';
import type { LinearMixedModel } from '../lmm/model';
import { axisKey, gridLayout, panelAxes, Trace } from './layout';

export interface CaterpillarOptions {
  /** grouping factor (default: the first in lme4's order, the one with most levels) */
  group?: string;
  /** coverage of the intervals mode +- z * conditional sd (default 0.95, z = 1.96) */
  level?: number;
}

/** The grouping factor named in options, or the model's first one; a ModelError names the choices. */
export function chooseGroup(model: LinearMixedModel, group: string | undefined, plot: string): string {
  const groups = [...new Set(model.terms.map((t) => t.group))];
  const chosen = group ?? groups[0];
  if (!groups.includes(chosen)) throw new ModelError(`${plot}: '${chosen}' is not a grouping factor of ${model.formula} (it has ${groups.join(', ')})`);
  return chosen;
}

export function caterpillarPlot(model: LinearMixedModel, options: CaterpillarOptions = {}): PlotlyFigure {
  const group = chooseGroup(model, options.group, 'caterpillarPlot');
  const level = options.level ?? 0.95;
  if (!(level > 0 && level < 1)) throw new ModelError(`caterpillarPlot: level must be between 0 and 1, not ${level}`);
  const z = normalQuantile(1 - (1 - level) / 2);
  const rows = ranef(model, { condVar: true })[group];
  const condVar = rows.condVar;
  const modeOf = new Map(rows.map((row) => [row.level, row]));
  const panels = condVar!.flatMap((block) =>
    block.names.map((name, a) => ({
      name,
      levels: block.levels,
      modes: block.levels.map((l) => modeOf.get(l)![name] as number),
      halfWidths: block.condSD.map((sd) => z * sd[a]),
    })),
  );
  const first = panels[0];
  const order = first.levels.map((_, i) => i).sort((i, j) => first.modes[i] - first.modes[j]);
  const orderedLevels = order.map((i) => first.levels[i]);

  const data: Trace[] = panels.map((panel, p) => {
    const position = new Map(panel.levels.map((l, i) => [l, i]));
    const index = orderedLevels.map((l) => position.get(l)!);
    return {
      type: 'scatter',
      mode: 'markers',
      name: panel.name,
      x: index.map((i) => panel.modes[i]),
      y: orderedLevels,
      error_x: { type: 'data', array: index.map((i) => panel.halfWidths[i]), visible: true, thickness: 1 },
      marker: { size: 6 },
      ...panelAxes(p),
    };
  });
  const layout = gridLayout({
    panels: panels.length,
    columns: panels.length,
    titles: panels.map((p) => p.name),
    xTitle: `conditional mode (${Math.round(level * 100)}% interval)`,
    yTitle: group,
    shareY: true,
    rowHeight: Math.max(300, 20 * orderedLevels.length),
  });
  panels.forEach((_, p) => {
    const { xaxis, yaxis } = panelAxes(p);
    layout[axisKey(yaxis)] = { ...(layout[axisKey(yaxis)] as object), type: 'category', categoryorder: 'array', categoryarray: orderedLevels, dtick: 1 };
    layout[axisKey(xaxis)] = { ...(layout[axisKey(xaxis)] as object), zeroline: true, zerolinecolor: 'gray' };
  });
  return new PlotlyFigure(
    literalLabels({
      data,
      layout: { ...layout, title: { text: `Random effects of ${group}: ${model.formula}` }, showlegend: false },
    }),
  );
}
