/**
 * Installs the JupyterLab 4 prebuilt extension of the widgets (widgets/dist/labextension, built by
 * `npm run build:widgets`) where JupyterLab looks for prebuilt extensions. Called by
 * `npx neurolmm kernel install`.
 */
import * as fs from 'fs';
import * as path from 'path';
import { DataError } from '../errors';
import { builtWidgetFile, widgetModule } from './assets';

/**
 * `prefixOrUserDir` is either an environment prefix (sys.prefix: the extension goes to
 * <prefix>/share/jupyter/labextensions/neurolmm-widgets) or a Jupyter data directory such as
 * ~/.local/share/jupyter (one whose last component is `jupyter`: <dir>/labextensions/neurolmm-widgets).
 * Replaces an older copy. Returns the extension's folder.
 */
export function installLabExtension(prefixOrUserDir: string): string {
  const source = path.dirname(builtWidgetFile(path.join('labextension', 'package.json')));
  const { name } = widgetModule();
  const root = path.resolve(prefixOrUserDir);
  const labextensions = path.basename(root) === 'jupyter' ? path.join(root, 'labextensions') : path.join(root, 'share', 'jupyter', 'labextensions');
  const target = path.join(labextensions, name);
  try {
    fs.rmSync(target, { recursive: true, force: true });
    fs.mkdirSync(labextensions, { recursive: true });
    fs.cpSync(source, target, { recursive: true });
  } catch (e) {
    throw new DataError(`cannot install the JupyterLab extension into ${target}: ${(e as Error).message}`);
  }
  return target;
}
