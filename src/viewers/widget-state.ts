/**
 * A viewer's widget, described once kernel-side in the terms of the widget host
 * (src/display/widget-host.ts): model/view names of the neurolmm-widgets module, JSON state and
 * binary buffers at buffer paths. From it come the live widget and the standalone page (`toHTML`).
 */
import * as fs from 'fs';
import { html, jsonScript, scriptSource } from '../display/html';
import { BinaryData, Widget, WidgetSpec, setWidgetEmbedLoader, widgetStateDocument } from '../display/widget-host';
import { builtWidgetFile, widgetModule } from './assets';

export type { WidgetSpec };
export type WidgetBuffer = { path: Array<string | number>; data: BinaryData };

export const WIDGET_STATE_MIME = 'application/vnd.jupyter.widget-state+json';
export const WIDGET_VIEW_MIME = 'application/vnd.jupyter.widget-view+json';

/** The spec of a model/view pair of the neurolmm-widgets front-end. */
export function viewerWidgetSpec(modelName: string, viewName: string, state: Record<string, unknown>, buffers: WidgetBuffer[]): WidgetSpec {
  const { name, version } = widgetModule();
  const range = `^${version}`;
  return { modelName, modelModule: name, modelModuleVersion: range, viewName, viewModule: name, viewModuleVersion: range, state, buffers };
}

/** Saved widget state (format 2.0, buffers base64) of one widget, without registering it anywhere. */
export function savedWidgetState(spec: WidgetSpec): { modelId: string; document: Record<string, unknown> } {
  const widget = new Widget(spec);
  try {
    return { modelId: widget.modelId, document: widgetStateDocument([widget]) };
  } finally {
    widget.close();
  }
}

let embedScript: string | undefined;
/** The front-end bundle (html-manager, the views and Plotly), read once, safe inside <script>. */
export function embedBundle(): string {
  embedScript ??= scriptSource(fs.readFileSync(builtWidgetFile('embed.js'), 'utf8'));
  return embedScript;
}

/**
 * Lets widgets shown without the neurolmm kernel (a plain tslab kernel, a script writing notebook
 * outputs) render from their embedded state: the widget host appends this bundle to their HTML.
 */
export function useEmbedBundleForHostlessWidgets(): void {
  setWidgetEmbedLoader(`<script>${embedBundle()}</script>`);
}

/**
 * One self-contained HTML page showing the widget: the saved state, a view tag and the front-end
 * bundle inlined. Opens from disk with no network.
 */
export function widgetHtml(spec: WidgetSpec, title: string): string {
  const { modelId, document } = savedWidgetState(spec);
  return [
    '<!DOCTYPE html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    html`<title>${title}</title>`.markup,
    jsonScript(WIDGET_STATE_MIME, document).markup,
    '</head>',
    '<body style="margin: 12px">',
    jsonScript(WIDGET_VIEW_MIME, { version_major: 2, version_minor: 0, model_id: modelId }).markup,
    `<script>${embedBundle()}</script>`,
    '</body>',
    '</html>',
    '',
  ].join('\n');
}
