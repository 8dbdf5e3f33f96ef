/**
 * The JupyterLab 4 plugin: registers the widget module with @jupyter-widgets/base's registry (a shared
 * singleton provided by jupyterlab_widgets). The views, with Plotly, load lazily on the first widget.
 */
import { IJupyterWidgetRegistry } from '@jupyter-widgets/base';
import { MODULE_NAME, MODULE_VERSION } from './version';

const plugin = {
  id: `${MODULE_NAME}:plugin`,
  description: 'Surface and volume viewers of neurolmm',
  requires: [IJupyterWidgetRegistry],
  autoStart: true,
  activate: (_app: unknown, registry: IJupyterWidgetRegistry): void => {
    registry.registerWidget({ name: MODULE_NAME, version: MODULE_VERSION, exports: () => import('./index') as any });
  },
};

export default plugin;
