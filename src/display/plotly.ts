/**
 * Plotly figures that render without network access: the bundle carries the figure JSON for
 * frontends with a Plotly renderer (JupyterLab extension, VS Code) and an HTML fallback with
 * plotly.js from node_modules/plotly.js-dist-min inlined, evaluated once per page.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { html, scriptJson, scriptSource } from './html';
import { CellExecution, MimeBundle, MimeBundleProvider, currentCellExecution } from './mime';
import { processSingleton } from './registry';

export interface PlotlyFigureSpec {
  data: Record<string, unknown>[];
  layout?: Record<string, unknown>;
  config?: Record<string, unknown>;
}

/**
 * Where the inlined plotly.js (about 4.8 MB) goes in the text/html of figures:
 * - 'every-output' (default outside the kernel): in every figure, so each output renders on its own
 *   even after other outputs were cleared; a guard makes the browser evaluate it once per page.
 * - 'first-output' (the neurolmm kernel's): once per notebook, in the first figure the kernel shows,
 *   and again when the cell that carried it runs again (its old output, and the library with it, is
 *   replaced). Later figures reuse it, in the live page and in exported HTML (outputs run in order);
 *   JupyterLab with a Plotly renderer draws application/vnd.plotly.v1+json and needs neither.
 */
export type PlotlyInlining = 'every-output' | 'first-output';

const plotlyState = processSingleton('plotly', () => ({
  inlining: 'every-output' as PlotlyInlining,
  /** The cell execution whose output carries the library (null: none yet). */
  libraryCarrier: null as CellExecution | undefined | null,
  librarySource: undefined as string | undefined,
}));

export function setPlotlyInlining(mode: PlotlyInlining): void {
  plotlyState.inlining = mode;
  plotlyState.libraryCarrier = null;
}

/** Whether the figure displayed now must carry plotly.js (and records it when it does). */
function carriesLibrary(): boolean {
  if (plotlyState.inlining === 'every-output') return true;
  const carrier = plotlyState.libraryCarrier;
  const now = currentCellExecution();
  const carrierRerun = carrier?.cellId !== undefined && carrier.cellId === now?.cellId && carrier.requestId !== now.requestId;
  if (carrier !== null && !carrierRerun) return false;
  plotlyState.libraryCarrier = now;
  return true;
}

/** plotly.min.js, read once, ready to sit inside a script element. */
function plotlyLibrary(): string {
  plotlyState.librarySource ??= scriptSource(readFileSync(require.resolve('plotly.js-dist-min/plotly.min.js'), 'utf8'));
  return plotlyState.librarySource;
}

function libraryScript(): string {
  return `<script type="text/javascript">if (!window.Plotly) {\n${plotlyLibrary()}\n}</script>`;
}

/** Keys whose strings plotly.js draws as its own small HTML (<b>, <br>, <a href>, entities). */
const PLOTLY_TEXT_KEYS = new Set(['text', 'name', 'title', 'hovertext', 'ticktext']);
const PLOTLY_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;' };

/**
 * The figure with every label (titles, trace names, annotations, hover texts) shown literally:
 * names from the user's data may hold '<' or '&', which plotly.js would read as markup. Only
 * &amp; &lt; &gt; are used because plotly.js decodes no other named entity.
 */
export function literalLabels(spec: PlotlyFigureSpec): PlotlyFigureSpec {
  const escape = (value: unknown, isText: boolean): unknown => {
    if (typeof value === 'string') return isText ? value.replace(/[&<>]/g, (c) => PLOTLY_ESCAPES[c]) : value;
    if (Array.isArray(value)) return value.map((v) => escape(v, isText));
    if (value === null || typeof value !== 'object' || ArrayBuffer.isView(value)) return value;
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, escape(v, isText || PLOTLY_TEXT_KEYS.has(k))]));
  };
  return escape(spec, false) as PlotlyFigureSpec;
}

export class PlotlyFigure implements MimeBundleProvider {
  data: Record<string, unknown>[];
  layout: Record<string, unknown>;
  config: Record<string, unknown>;

  constructor(spec: PlotlyFigureSpec) {
    this.data = spec.data;
    this.layout = spec.layout ?? {};
    this.config = spec.config ?? {};
  }

  toJSON(): Required<PlotlyFigureSpec> {
    return { data: this.data, layout: this.layout, config: this.config };
  }

  /** A div plus the script drawing into it; plotly.js itself is not included. */
  private plotHtml(): string {
    const id = `plotly-${randomUUID()}`;
    const height = typeof this.layout.height === 'number' ? `${this.layout.height}px` : '450px';
    const config = { responsive: true, ...this.config };
    return (
      `<div id="${id}" class="neurolmm-plotly" style="width: 100%; height: ${height};"></div>\n` +
      `<script type="text/javascript">window.Plotly.newPlot(${JSON.stringify(id)}, ` +
      `${scriptJson(this.data)}, ${scriptJson(this.layout)}, ${scriptJson(config)});</script>`
    );
  }

  toMimeBundle(): MimeBundle {
    const includeLibrary = carriesLibrary();
    return {
      'application/vnd.plotly.v1+json': JSON.parse(scriptJson(this.toJSON())),
      'text/html': (includeLibrary ? libraryScript() + '\n' : '') + this.plotHtml(),
      'text/plain': this.toString(),
    };
  }

  /** A self-contained HTML page (plotly.js inlined); written to `path` when given. */
  toHTML(path?: string): string {
    const title = typeof this.layout.title === 'string' ? this.layout.title : 'Plotly figure';
    const page =
      html`<!DOCTYPE html>\n<html>\n<head>\n<meta charset="utf-8">\n<title>${title}</title>\n</head>\n<body>\n`.markup +
      `${libraryScript()}\n${this.plotHtml()}\n</body>\n</html>\n`;
    if (path !== undefined) writeFileSync(path, page);
    return page;
  }

  toString(): string {
    const types = this.data.map((trace) => String(trace.type ?? 'scatter'));
    return `PlotlyFigure(${this.data.length} trace${this.data.length === 1 ? '' : 's'}: ${types.join(', ')})`;
  }
}
