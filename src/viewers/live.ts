/**
 * The bridge to the kernel's widget host (src/display/widget-host.ts): creates the live widget of a
 * spec, with its buffers as binary frames, and wires messages and state changes back to the viewer.
 */
import { WidgetSpec, protocolAttributes } from './widget-state';

/** The handle the widget host returns for a created widget (see src/display/widget-host.ts). */
export interface WidgetHandle {
  set(key: string, value: unknown): void;
  get(key: string): unknown;
  on(event: string, listener: (value: unknown) => void): void;
  onCustom(listener: (content: any, buffers?: unknown[]) => void): void;
  send(content: unknown, buffers?: ArrayBufferView[]): void;
  close(): void;
  toMimeBundle(): Record<string, unknown>;
}

export interface LiveWidget {
  set(key: string, value: unknown): void;
  close(): void;
  toMimeBundle(): Record<string, unknown>;
}

export interface LiveWiring {
  onMessage(content: Record<string, unknown>): void;
  onChange(key: string, value: unknown): void;
  syncedKeys: string[];
}

type CreateWidget = (options: Record<string, unknown>) => WidgetHandle;

/** The host's `widgets.create`, or null outside a kernel that has one. */
function hostCreate(): CreateWidget | null {
  try {
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    const host = require('../display/widget-host');
    const widgets = host.widgets ?? host.default?.widgets;
    return widgets && typeof widgets.create === 'function' ? (options) => widgets.create(options) : null;
  } catch {
    return null;
  }
}

export function liveWidget(spec: WidgetSpec, wiring: LiveWiring): LiveWidget | null {
  const create = hostCreate();
  if (!create) return null;
  const attributes = protocolAttributes(spec);
  const handle = create({
    modelName: attributes._model_name,
    modelModule: attributes._model_module,
    modelModuleVersion: attributes._model_module_version,
    viewName: attributes._view_name,
    viewModule: attributes._view_module,
    viewModuleVersion: attributes._view_module_version,
    state: spec.state,
    buffers: spec.buffers.map((b) => ({ path: b.path.map(String), data: b.data })),
  });
  handle.onCustom((content) => wiring.onMessage(content ?? {}));
  for (const key of wiring.syncedKeys) handle.on(`change:${key}`, (value) => wiring.onChange(key, value));
  return handle;
}
