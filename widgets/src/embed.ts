/**
 * Standalone renderer for saved widget state (html-manager), used by `viewer.toHTML()`: bundles
 * @jupyter-widgets/html-manager, this module and Plotly into one script that needs no network.
 * On load it renders every `application/vnd.jupyter.widget-state+json` script of the page into the
 * `application/vnd.jupyter.widget-view+json` scripts that name its models.
 */
import { HTMLManager } from '@jupyter-widgets/html-manager/lib/htmlmanager';
import * as widgets from './index';
import { MODULE_NAME } from './version';

/** Resolves this module for an HTMLManager (pages that wire their own manager to a kernel use it too). */
export function loader(moduleName: string, moduleVersion: string): Promise<typeof widgets> {
  if (moduleName === MODULE_NAME) return Promise.resolve(widgets);
  return Promise.reject(new Error(`this page bundles only ${MODULE_NAME}; it cannot load ${moduleName}@${moduleVersion}`));
}

export async function renderWidgets(root: ParentNode = document): Promise<HTMLManager[]> {
  const managers: HTMLManager[] = [];
  for (const stateTag of Array.from(root.querySelectorAll('script[type="application/vnd.jupyter.widget-state+json"]'))) {
    const manager = new HTMLManager({ loader });
    const models = await manager.set_state(JSON.parse(stateTag.textContent ?? '{}'));
    for (const viewTag of Array.from(root.querySelectorAll('script[type="application/vnd.jupyter.widget-view+json"]'))) {
      const { model_id } = JSON.parse(viewTag.textContent ?? '{}');
      const model = models.find((m) => m.model_id === model_id);
      // A notebook page may carry this script in several outputs: each view is rendered once.
      if (!model || !viewTag.parentElement || viewTag.hasAttribute('data-rendered')) continue;
      viewTag.setAttribute('data-rendered', '');
      const host = document.createElement('div');
      host.className = 'widget-subarea';
      viewTag.parentElement.insertBefore(host, viewTag);
      await manager.display_view(await manager.create_view(model), host);
    }
    managers.push(manager);
  }
  return managers;
}

(window as any).neurolmmWidgets = { ...widgets, HTMLManager, loader, renderWidgets };
const rendered = new Promise<HTMLManager[]>((resolve, reject) => {
  const go = () => renderWidgets().then(resolve, reject);
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', go);
  else go();
});
(window as any).neurolmmWidgets.rendered = rendered;
