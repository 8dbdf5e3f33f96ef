/**
 * A widget described once, kernel-side, as the Jupyter widget protocol (version 2) sees it: a model
 * name, JSON state and binary buffers placed at buffer paths. From it come the live widget (through the
 * kernel's widget host) and the saved state that html-manager renders outside Jupyter (`toHTML`).
 */
import * as fs from 'fs';
import { randomUUID } from 'crypto';
import { builtWidgetFile, widgetModule } from './assets';

export type BufferPath = Array<string | number>;

export interface WidgetBuffer {
  path: BufferPath;
  data: Float32Array | Int32Array;
}

export interface WidgetSpec {
  modelName: string;
  viewName: string;
  /** JSON state; the attributes holding buffers are placed by `buffers` (their slots here are ignored). */
  state: Record<string, unknown>;
  buffers: WidgetBuffer[];
}

export const WIDGET_STATE_MIME = 'application/vnd.jupyter.widget-state+json';
export const WIDGET_VIEW_MIME = 'application/vnd.jupyter.widget-view+json';

/** The `_model_*` / `_view_*` attributes that tell a widget manager which classes to instantiate. */
export function protocolAttributes(spec: WidgetSpec): Record<string, string> {
  const { name, version } = widgetModule();
  const range = `^${version}`;
  return {
    _model_name: spec.modelName,
    _model_module: name,
    _model_module_version: range,
    _view_name: spec.viewName,
    _view_module: name,
    _view_module_version: range,
  };
}

export function bytesOf(data: Float32Array | Int32Array): Buffer {
  return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}

/** One model entry of saved widget state (buffers base64-encoded, as the state schema wants). */
export function savedModelState(spec: WidgetSpec) {
  const attributes = protocolAttributes(spec);
  return {
    model_name: attributes._model_name,
    model_module: attributes._model_module,
    model_module_version: attributes._model_module_version,
    state: { ...spec.state, ...attributes },
    buffers: spec.buffers.map((b) => ({ path: b.path, encoding: 'base64', data: bytesOf(b.data).toString('base64') })),
  };
}

/** Saved widget state of one widget: the document html-manager's `set_state` reads. */
export function savedWidgetState(spec: WidgetSpec, modelId: string) {
  return { version_major: 2, version_minor: 0, state: { [modelId]: savedModelState(spec) } };
}

/** Text placed inside <script>: `</script` would end it early (`<\/` means the same in JS strings and regexes). */
const escapeScript = (text: string) => text.replace(/<\/(script)/gi, '<\\/$1');
const escapeHtml = (text: string) => text.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c] as string);

/**
 * One self-contained HTML page showing the widget: the front-end bundle (html-manager, the views and
 * Plotly) inlined, then the saved state and a view tag. Opens from disk with no network.
 */
export function widgetHtml(spec: WidgetSpec, title: string): string {
  const modelId = randomUUID().replace(/-/g, '');
  const script = fs.readFileSync(builtWidgetFile('embed.js'), 'utf8');
  const state = escapeScript(JSON.stringify(savedWidgetState(spec, modelId))).replace(/<!--/g, '<\\u0021--');
  const view = JSON.stringify({ version_major: 2, version_minor: 0, model_id: modelId });
  return [
    '<!DOCTYPE html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    `<title>${escapeHtml(title)}</title>`,
    `<script type="${WIDGET_STATE_MIME}">${state}</script>`,
    '</head>',
    '<body style="margin: 12px">',
    `<script type="${WIDGET_VIEW_MIME}">${view}</script>`,
    `<script>${escapeScript(script)}</script>`,
    '</body>',
    '</html>',
    '',
  ].join('\n');
}
