/** Plotly layout pieces shared by the plots: subplot grids and axis titles. */

export type Trace = Record<string, unknown>;

/** Axis ids of panel i (0-based) in Plotly's numbering: 'x'/'y', then 'x2'/'y2', ... */
export function panelAxes(i: number): { xaxis: string; yaxis: string } {
  const suffix = i === 0 ? '' : String(i + 1);
  return { xaxis: `x${suffix}`, yaxis: `y${suffix}` };
}

/** Layout key of an axis id: 'x2' -> 'xaxis2'. */
export function axisKey(axis: string): string {
  return `${axis[0]}axis${axis.slice(1)}`;
}

export interface GridOptions {
  panels: number;
  columns: number;
  /** one title per panel, drawn above it */
  titles: string[];
  xTitle: string;
  yTitle: string;
  /** every panel shows the same x (y) range as the first */
  shareX?: boolean;
  shareY?: boolean;
  /** pixels per row of panels */
  rowHeight?: number;
}

/** A grid of panels (Plotly's independent subplot grid) with axis titles on the outer panels. */
export function gridLayout(options: GridOptions): Record<string, unknown> {
  const { panels, columns } = options;
  const rows = Math.ceil(panels / columns);
  const layout: Record<string, unknown> = {
    grid: { rows, columns, pattern: 'independent', roworder: 'top to bottom', xgap: 0.08, ygap: 0.35 },
    height: Math.max(300, 60 + rows * (options.rowHeight ?? 180)),
    margin: { t: 60, l: 60, r: 20, b: 50 },
    annotations: options.titles.map((title, i) => {
      const { xaxis, yaxis } = panelAxes(i);
      return {
        text: title,
        showarrow: false,
        xref: `${xaxis} domain`,
        yref: `${yaxis} domain`,
        x: 0.5,
        y: 1,
        yanchor: 'bottom',
        font: { size: 11 },
      };
    }),
  };
  for (let i = 0; i < panels; i++) {
    const { xaxis, yaxis } = panelAxes(i);
    const bottomRow = i + columns >= panels;
    const firstColumn = i % columns === 0;
    layout[axisKey(xaxis)] = {
      ...(bottomRow ? { title: { text: options.xTitle } } : {}),
      ...(options.shareX && i > 0 ? { matches: 'x' } : {}),
    };
    layout[axisKey(yaxis)] = {
      ...(firstColumn ? { title: { text: options.yTitle } } : {}),
      ...(options.shareY && i > 0 ? { matches: 'y' } : {}),
    };
  }
  return layout;
}
