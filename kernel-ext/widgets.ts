/**
 * Jupyter widgets (widget protocol 2.1.0) for cells and library code.
 *
 * In cells, the global `widgets` creates them; library code calls `createWidget` from
 * src/display/widget-host.ts, which uses the host registered here when the kernel runs and local
 * state otherwise (so the library never depends on the kernel):
 *
 *   const w = widgets.create({
 *     modelName: 'IntSliderModel', modelModule: '@jupyter-widgets/controls', modelModuleVersion: '2.0.0',
 *     viewName: 'IntSliderView', viewModule: '@jupyter-widgets/controls', viewModuleVersion: '2.0.0',
 *     state: { value: 3, mesh: new Float32Array(vertices) },   // binary values go as buffers
 *     buffers: [{ path: ['colors'], data: bytes }],             // or placed at explicit paths
 *   });
 *   w.set({ value: 4 });                     // -> 'update' to the frontend, then change listeners
 *   w.get('value');
 *   w.on('change:value', (value, previous) => ...);   // also 'change' (all changed keys), 'close'
 *   w.onCustom((content, buffers) => ...);   // custom messages from the view
 *   w.send(content, buffers);                // custom message to the view
 *   w.close();
 *   w                                        // as a cell's last value (or display(w)) shows the view
 *
 * Protocol (kernel side): the widget's comm (target `jupyter.widget`, comm id = model id) opens with
 * the full state; frontend `update` is applied and answered with `echo_update` before the change
 * listeners run; `request_state` is answered with an `update` holding the full state; `custom`
 * goes to `onCustom`. On the `jupyter.widget.control` comm, `request_states` is answered with
 * `update_states` holding every live widget (how JupyterLab restores widgets after a reload).
 */
import { Widget, WidgetSpec, liveWidgets, putBuffers, removeBuffers, setWidgetHost, wireState } from '../src/display/widget-host';
import { Comm, CommsApi } from './comm';
import { logToTerminal } from './session';

export const WIDGET_TARGET = 'jupyter.widget';
export const CONTROL_TARGET = 'jupyter.widget.control';
export const WIDGET_PROTOCOL_VERSION = '2.1.0';

/** The `widgets` global of cells. */
export interface WidgetsApi {
  create(spec: WidgetSpec): Widget;
}

interface WidgetMessage {
  method?: string;
  state?: Record<string, unknown>;
  buffer_paths?: (string | number)[][];
  content?: unknown;
}

/** A widget mirrored by the frontend through its comm. */
class CommWidget extends Widget {
  private readonly comm: Comm;

  constructor(spec: WidgetSpec, comms: CommsApi) {
    super(spec);
    const { data, buffers } = wireState(this.fullState());
    this.comm = comms.open(WIDGET_TARGET, data, { metadata: { version: WIDGET_PROTOCOL_VERSION }, buffers, commId: this.modelId });
    this.comm.onMsg((message, frames) => this.receive(message as WidgetMessage, frames));
    this.comm.onClose(() => super.close());
  }

  override close(): void {
    this.comm.close();
  }

  protected override hasFrontend(): boolean {
    return true;
  }

  protected override transmit(data: Record<string, unknown>, buffers: Uint8Array[] = []): void {
    if (!this.comm.isClosed) this.comm.send(data, { buffers });
  }

  private receive(message: WidgetMessage, buffers: Uint8Array[]): void {
    switch (message.method) {
      case 'update': {
        const state = message.state ?? {};
        const bufferPaths = message.buffer_paths ?? [];
        // The echo confirms the frontend's change (ipywidgets 8) and goes out before listeners
        // react, so that any update they send arrives after it.
        this.transmit({ method: 'echo_update', state, buffer_paths: bufferPaths }, buffers);
        putBuffers(state, bufferPaths, buffers);
        this.applyChanges(state);
        return;
      }
      case 'request_state': {
        const { data, buffers: stateBuffers } = wireState(this.fullState());
        this.transmit({ method: 'update', ...data }, stateBuffers);
        return;
      }
      case 'custom':
        this.dispatchCustom(message.content, buffers);
        return;
      default:
        logToTerminal(`widget ${this.modelId}: unknown method '${String(message.method)}'`);
    }
  }
}

/** Answers `request_states` with the state of every live widget. */
function serveControlComm(comm: Comm): void {
  comm.onMsg((message) => {
    if ((message as WidgetMessage).method !== 'request_states') {
      logToTerminal(`widget control comm: unknown method '${String((message as WidgetMessage).method)}'`);
      return;
    }
    const states: Record<string, unknown> = {};
    for (const w of liveWidgets()) {
      states[w.modelId] = {
        model_name: w.modelName,
        model_module: w.modelModule,
        model_module_version: w.modelModuleVersion,
        state: w.fullState(),
      };
    }
    // Buffer paths start with the model id: [model_id, 'state', key, ...].
    const split = removeBuffers(states);
    comm.send({ method: 'update_states', states: split.state, buffer_paths: split.bufferPaths }, { buffers: split.buffers });
  });
}

/** Makes widgets comm-backed for the life of the kernel; returns the `widgets` global. */
export function installWidgets(comms: CommsApi): WidgetsApi {
  comms.registerTarget(CONTROL_TARGET, serveControlComm);
  const api: WidgetsApi = { create: (spec) => new CommWidget(spec, comms) };
  setWidgetHost({ createWidget: api.create });
  return api;
}
