/**
 * Installs the JupyterLab 4 prebuilt extension of the widgets where JupyterLab looks for prebuilt
 * extensions. Called by `npx neurolmm kernel install`. The extension is not in the library's
 * package: it comes with neurolmm-jupyter (installed beside neurolmm, or the repository's
 * `jupyter/` folder, filled by `npm run build`).
 */
import * as fs from 'fs';
import * as path from 'path';
import { DataError } from '../errors';
import { packageRoot, widgetModule } from './assets';

/** The package that holds the JupyterLab extension and brings tslab. */
export const JUPYTER_PACKAGE = 'neurolmm-jupyter';

/** The prebuilt extension's folder, or undefined where neurolmm-jupyter is not installed. */
export function labExtensionSource(): string | undefined {
  const root = packageRoot();
  const candidates = [path.join(root, 'jupyter')];
  try {
    candidates.unshift(path.dirname(require.resolve(`${JUPYTER_PACKAGE}/package.json`, { paths: [root, process.cwd()] })));
  } catch {
    // not installed: a checkout has it in jupyter/
  }
  return candidates.map((dir) => path.join(dir, 'labextension')).find((dir) => fs.existsSync(path.join(dir, 'package.json')));
}

/**
 * Installs into a Jupyter data directory (the one holding `kernels/`: ~/.local/share/jupyter, or
 * <prefix>/share/jupyter for an environment prefix) as <dataDir>/labextensions/neurolmm-widgets,
 * replacing an older copy. Returns the extension's folder.
 */
export function installLabExtension(jupyterDataDir: string): string {
  const source = labExtensionSource();
  if (!source) throw new DataError(`the JupyterLab extension is in the ${JUPYTER_PACKAGE} package, which is not installed (npm install ${JUPYTER_PACKAGE})`);
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
