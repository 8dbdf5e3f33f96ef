/**
 * `neurolmm kernel install`: writes the Jupyter kernelspec of the neurolmm TypeScript kernel,
 * without Python. Locations follow `jupyter kernelspec install`:
 * - default and `--user`: the per-user Jupyter data dir (JUPYTER_DATA_DIR, else
 *   ~/.local/share/jupyter on Linux ($XDG_DATA_HOME honoured), ~/Library/Jupyter on macOS,
 *   %APPDATA%\jupyter on Windows), found by every Jupyter of that user without root rights;
 * - `--prefix DIR`: DIR/share/jupyter/kernels/NAME, e.g. a virtualenv or conda env (sys.prefix) or a
 *   directory listed in JUPYTER_PATH.
 * The kernelspec runs this Node binary on dist/kernel-ext/main.js by absolute paths, so it keeps
 * working from any notebook directory; reinstall after moving the package.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { NeurolmmError } from '../errors';
import { installLabExtension } from '../viewers/labextension';
import { installNbconvertTemplate } from '../viewers/nbconvert-template';

export interface KernelInstallOptions {
  user?: boolean;
  prefix?: string;
  /** Kernelspec name (default "neurolmm"): letters, digits, '.', '_', '-'. */
  name?: string;
}

/** jupyter_core's jupyter_data_dir(). */
function userJupyterDataDir(): string {
  if (process.env.JUPYTER_DATA_DIR) return process.env.JUPYTER_DATA_DIR;
  const home = os.homedir();
  if (process.platform === 'darwin') return path.join(home, 'Library', 'Jupyter');
  if (process.platform === 'win32') return path.join(process.env.APPDATA ?? home, 'jupyter');
  return path.join(process.env.XDG_DATA_HOME || path.join(home, '.local', 'share'), 'jupyter');
}

export function kernelLauncherPath(): string {
  return path.resolve(__dirname, '..', '..', 'kernel-ext', 'main.js');
}

/**
 * Installs (or replaces) the kernelspec, and beside it in the same Jupyter data directory the
 * widgets' JupyterLab extension and the nbconvert template "neurolmm"; returns the kernelspec's directory.
 */
export function installKernel(opts: KernelInstallOptions = {}): string {
  const name = opts.name ?? 'neurolmm';
  if (!/^[a-zA-Z0-9._-]+$/.test(name)) {
    throw new NeurolmmError(`kernel name '${name}' may only contain letters, digits, '.', '_' and '-'`);
  }
  if (opts.user && opts.prefix !== undefined) {
    throw new NeurolmmError('kernel install: use either --user or --prefix, not both');
  }
  const launcher = kernelLauncherPath();
  if (!existsSync(launcher)) {
    throw new NeurolmmError(`kernel launcher ${launcher} is missing; build neurolmm first (npm run build)`);
  }
  const dataDir = opts.prefix !== undefined ? path.join(path.resolve(opts.prefix), 'share', 'jupyter') : userJupyterDataDir();
  const dir = path.join(dataDir, 'kernels', name);
  const spec = {
    argv: [process.execPath, launcher, '--connection-file', '{connection_file}'],
    display_name: 'neurolmm (TypeScript)',
    language: 'typescript',
    interrupt_mode: 'signal',
    metadata: { debugger: false },
  };
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'kernel.json'), `${JSON.stringify(spec, null, 2)}\n`);
  installLabExtension(dataDir);
  installNbconvertTemplate(dataDir);
  return dir;
}
