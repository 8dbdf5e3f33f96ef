/**
 * Marginal means with their confidence intervals, like emmeans's plot() / emmip(): the first
 * factor of the means on the x axis, one trace per level combination of the others (the by
 * factors included), points joined by lines with the intervals as error bars.
 */
import { PlotlyFigure } from '../display/plotly';
import type { EmmGrid } from '../inference/emmeans';
import type { Trace } from './layout';

export function emmeansPlot(emm: EmmGrid): PlotlyFigure {
  const [xFactor, ...others] = emm.factors;
  const rows = emm.summary();
  const traces = new Map<string, typeof rows>();
  for (const row of rows) {
    const name = others.map((f) => `${f} = ${row[f]}`).join(', ') || 'emmean';
    traces.set(name, [...(traces.get(name) ?? []), row]);
  }
  const data: Trace[] = [...traces].map(([name, members]) => ({
    type: 'scatter',
    mode: others.length ? 'lines+markers' : 'markers',
    name,
    x: members.map((r) => String(r[xFactor])),
    y: members.map((r) => r.emmean),
    error_y: {
      type: 'data',
      symmetric: false,
      array: members.map((r) => r.upperCL - r.emmean),
      arrayminus: members.map((r) => r.emmean - r.lowerCL),
      visible: true,
      thickness: 1,
    },
    marker: { size: 8 },
  }));
  const percent = Math.round(emm.level * 1000) / 10;
  return new PlotlyFigure({
    data,
    layout: {
      title: { text: `Estimated marginal means: ${emm.model.frame.formula}` },
      xaxis: { title: { text: xFactor }, type: 'category' },
      yaxis: { title: { text: `estimated marginal mean (${percent}% interval)` } },
      showlegend: others.length > 0,
    },
  });
}
