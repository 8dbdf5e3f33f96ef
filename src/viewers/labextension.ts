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
 * Installs into a Jupyter data directory (the one holding `kernels/`: ~/.local/share/jupyter, or
 * <prefix>/share/jupyter for an environment prefix) as <dataDir>/labextensions/neurolmm-widgets,
 * replacing an older copy. Returns the extension's folder.
 */
export function installLabExtension(jupyterDataDir: string): string {
  const source = path.dirname(builtWidgetFile(path.join('labextension', 'package.json')));
  const { name } = widgetModule();
  const labextensions = path.join(path.resolve(jupyterDataDir), 'labextensions');
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
