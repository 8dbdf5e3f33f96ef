/**
 * Jupyter widgets for library code, with or without the neurolmm kernel.
 *
 *   const w = createWidget({ modelName, modelModule, modelModuleVersion, viewName, viewModule,
 *                            viewModuleVersion, state: {...}, buffers?: [{ path: ['key'], data }] });
 *   w.set({ key: value }); w.get('key'); w.on('change:key', (value, previous) => ...);
 *   w.onCustom((content, buffers) => ...); w.send(content, buffers); w.close(); w.toMimeBundle();
 *
 * Binary values (ArrayBuffer, typed arrays, DataView) anywhere in the state travel as binary frames
 * with `buffer_paths`, never as JSON arrays; binary values from the frontend arrive as Uint8Array.
 * The kernel registers a `WidgetHost` at start whose widgets talk to the frontend over comms
 * (kernel-ext/widgets.ts). Without a host, widgets keep their state locally and render as HTML with
 * the embedded widget state (rendered by the loader set with `setWidgetEmbedLoader`, if any).
 */
import { randomUUID } from 'node:crypto';
import { html, jsonScript } from './html';
import { MimeBundle, MimeBundleProvider } from './mime';
import { processSingleton } from './registry';

export type BinaryData = ArrayBuffer | ArrayBufferView;
export type StatePath = (string | number)[];

export interface WidgetSpec {
  modelName: string;
  modelModule: string;
  modelModuleVersion: string;
  viewName?: string | null;
  viewModule?: string | null;
  viewModuleVersion?: string;
  state?: Record<string, unknown>;
  /** Binary values put into `state` at `path` (the same as writing them into `state` directly). */
  buffers?: { path: StatePath; data: BinaryData }[];
}

/** A state with its binary values taken out, as the widget protocol sends it. */
export interface SplitState<T = Record<string, unknown>> {
  state: T;
  bufferPaths: StatePath[];
  buffers: Uint8Array[];
}

function isBinary(value: unknown): value is BinaryData {
  return value instanceof ArrayBuffer || ArrayBuffer.isView(value);
}

export function toBytes(data: BinaryData): Uint8Array {
  return data instanceof ArrayBuffer ? new Uint8Array(data) : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/** Copies `value` without its binary parts (ipywidgets' _remove_buffers); the bytes are not copied. */
export function removeBuffers<T>(value: T): SplitState<T> {
  const bufferPaths: StatePath[] = [];
  const buffers: Uint8Array[] = [];
  const strip = (node: unknown, path: StatePath): unknown => {
    if (isBinary(node)) {
      bufferPaths.push(path);
      buffers.push(toBytes(node));
      return null;
    }
    if (Array.isArray(node)) return node.map((item, i) => strip(item, [...path, i]));
    const isPlainObject = typeof node === 'object' && node !== null && [Object.prototype, null].includes(Object.getPrototypeOf(node));
    if (isPlainObject) {
      const copy: Record<string, unknown> = {};
      for (const [key, item] of Object.entries(node)) {
        const stripped = strip(item, [...path, key]);
        // A binary value inside an object is left out of the JSON, like ipywidgets does.
        if (!isBinary(item)) copy[key] = stripped;
      }
      return copy;
    }
    return node;
  };
  return { state: strip(value, []) as T, bufferPaths, buffers };
}

/** Puts binary buffers back at their paths (ipywidgets' _put_buffers), modifying `state`. */
export function putBuffers(state: Record<string, unknown>, bufferPaths: StatePath[], buffers: BinaryData[]): void {
  bufferPaths.forEach((path, i) => {
    let node = state as Record<string | number, unknown>;
    for (let depth = 0; depth < path.length - 1; depth++) {
      node[path[depth]] ??= typeof path[depth + 1] === 'number' ? [] : {};
      node = node[path[depth]] as Record<string | number, unknown>;
    }
    node[path[path.length - 1]] = buffers[i];
  });
}

/** A state as the widget protocol sends it: JSON `{state, buffer_paths}` plus the binary frames. */
export function wireState(state: Record<string, unknown>): {
  data: { state: Record<string, unknown>; buffer_paths: StatePath[] };
  buffers: Uint8Array[];
} {
  const split = removeBuffers(state);
  return { data: { state: split.state, buffer_paths: split.bufferPaths }, buffers: split.buffers };
}

export type ChangeListener = (value: unknown, previous: unknown) => void;
export type CustomListener = (content: unknown, buffers: Uint8Array[]) => void;
type Listener = (...args: never[]) => void;

/**
 * A widget model. Without a kernel, changes stay local; kernel-ext subclasses it to mirror state
 * and custom messages to the frontend.
 */
export class Widget implements MimeBundleProvider {
  readonly modelId: string;
  readonly modelName: string;
  readonly modelModule: string;
  readonly modelModuleVersion: string;
  protected readonly state: Record<string, unknown>;
  private readonly listeners = new Map<string, Set<Listener>>();
  private readonly customListeners = new Set<CustomListener>();
  private closed = false;

  constructor(spec: WidgetSpec, modelId: string = randomUUID().replace(/-/g, '')) {
    this.modelId = modelId;
    this.modelName = spec.modelName;
    this.modelModule = spec.modelModule;
    this.modelModuleVersion = spec.modelModuleVersion;
    this.state = {
      _model_name: spec.modelName,
      _model_module: spec.modelModule,
      _model_module_version: spec.modelModuleVersion,
      _view_name: spec.viewName ?? null,
      _view_module: spec.viewModule ?? null,
      _view_module_version: spec.viewModuleVersion ?? '',
      ...spec.state,
    };
    if (spec.buffers) {
      putBuffers(
        this.state,
        spec.buffers.map((b) => b.path),
        spec.buffers.map((b) => b.data),
      );
    }
    widgetRegistry.widgets.set(modelId, this);
  }

  get isClosed(): boolean {
    return this.closed;
  }

  get(key: string): unknown {
    return this.state[key];
  }

  /** The whole state, binary values included (shared, not copied). */
  fullState(): Record<string, unknown> {
    return { ...this.state };
  }

  /** Changes state keys, sends the changed ones to the frontend, then runs the change listeners. */
  set(changes: Record<string, unknown>): void {
    const changed = Object.fromEntries(Object.entries(changes).filter(([key, value]) => !Object.is(this.state[key], value)));
    if (Object.keys(changed).length === 0) return;
    const { data, buffers } = wireState(changed);
    this.transmit({ method: 'update', ...data }, buffers);
    this.applyChanges(changed);
  }

  /** `change:KEY` listeners get (value, previous); `change` listeners get the changed keys and values. */
  on(event: 'change', listener: (changes: Record<string, unknown>) => void): () => void;
  on(event: `change:${string}`, listener: ChangeListener): () => void;
  on(event: 'close', listener: () => void): () => void;
  on(event: string, listener: Listener): () => void {
    let set = this.listeners.get(event);
    if (!set) this.listeners.set(event, (set = new Set()));
    set.add(listener);
    return () => set.delete(listener);
  }

  /** Custom messages from the frontend view (`model.send(content, callbacks, buffers)` in JS). */
  onCustom(listener: CustomListener): () => void {
    this.customListeners.add(listener);
    return () => this.customListeners.delete(listener);
  }

  /** A custom message to the frontend; dropped when no frontend is attached. */
  send(content: unknown, buffers: BinaryData[] = []): void {
    this.transmit({ method: 'custom', content }, buffers.map(toBytes));
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    widgetRegistry.widgets.delete(this.modelId);
    this.emit('close');
  }

  toMimeBundle(): MimeBundle {
    return {
      'text/plain': `${this.modelName}(model_id='${this.modelId}')`,
      'application/vnd.jupyter.widget-view+json': { version_major: 2, version_minor: 0, model_id: this.modelId },
      ...(this.hasFrontend() ? {} : { 'text/html': embeddedWidgetHtml(this) }),
    };
  }

  /** True when a frontend mirrors this widget (the kernel subclass). */
  protected hasFrontend(): boolean {
    return false;
  }

  /** Sends a widget-protocol message to the frontend; nothing to do without one. */
  protected transmit(_data: Record<string, unknown>, _buffers: Uint8Array[] = []): void {}

  /** Stores changes and runs listeners, without telling the frontend (it sent them or knows them). */
  protected applyChanges(changes: Record<string, unknown>): void {
    const changed: Record<string, unknown> = {};
    const previous: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(changes)) {
      if (Object.is(this.state[key], value)) continue;
      previous[key] = this.state[key];
      this.state[key] = value;
      changed[key] = value;
    }
    for (const key of Object.keys(changed)) this.emit(`change:${key}`, changed[key], previous[key]);
    if (Object.keys(changed).length > 0) this.emit('change', changed);
  }

  protected dispatchCustom(content: unknown, buffers: Uint8Array[]): void {
    for (const listener of [...this.customListeners]) listener(content, buffers);
  }

  private emit(event: string, ...args: unknown[]): void {
    for (const listener of [...(this.listeners.get(event) ?? [])]) (listener as (...a: unknown[]) => void)(...args);
  }
}

/** Creates widgets; the kernel registers one whose widgets are backed by comms. */
export interface WidgetHost {
  createWidget(spec: WidgetSpec): Widget;
}

const widgetRegistry = processSingleton('widgets', () => ({
  host: undefined as WidgetHost | undefined,
  widgets: new Map<string, Widget>(),
  embedLoader: undefined as string | undefined,
}));

export function setWidgetHost(host: WidgetHost | undefined): void {
  widgetRegistry.host = host;
}

export function createWidget(spec: WidgetSpec): Widget {
  return widgetRegistry.host ? widgetRegistry.host.createWidget(spec) : new Widget(spec);
}

/** Widgets created in this process and not closed yet. */
export function liveWidgets(): Widget[] {
  return [...widgetRegistry.widgets.values()];
}

/** The saved-state document (application/vnd.jupyter.widget-state+json, format 2.0) of widgets. */
export function widgetStateDocument(widgets: Widget[] = liveWidgets()): Record<string, unknown> {
  const state: Record<string, unknown> = {};
  for (const w of widgets) {
    const split = removeBuffers(w.fullState());
    state[w.modelId] = {
      model_name: w.modelName,
      model_module: w.modelModule,
      model_module_version: w.modelModuleVersion,
      state: split.state,
      buffers: split.bufferPaths.map((path, i) => ({
        path,
        encoding: 'base64',
        data: Buffer.from(split.buffers[i].buffer, split.buffers[i].byteOffset, split.buffers[i].byteLength).toString('base64'),
      })),
    };
  }
  return { version_major: 2, version_minor: 0, state };
}

/**
 * The script (an HTML fragment) that renders embedded widget state in a page without a kernel,
 * e.g. a bundle of @jupyter-widgets/html-manager's embed script; the widgets package sets it.
 */
export function setWidgetEmbedLoader(scriptHtml: string | undefined): void {
  widgetRegistry.embedLoader = scriptHtml;
}

/** Widget state and view as the standard embed script elements, plus the loader if one is set. */
function embeddedWidgetHtml(widget: Widget): string {
  const { embedLoader } = widgetRegistry;
  const placeholder = embedLoader
    ? ''
    : html`<div class="neurolmm-widget-placeholder">${widget.modelName}: interactive view needs the neurolmm kernel or a widget embed loader</div>`.markup;
  return (
    jsonScript('application/vnd.jupyter.widget-state+json', widgetStateDocument()).markup +
    jsonScript('application/vnd.jupyter.widget-view+json', { version_major: 2, version_minor: 0, model_id: widget.modelId }).markup +
    placeholder +
    (embedLoader ?? '')
  );
}
