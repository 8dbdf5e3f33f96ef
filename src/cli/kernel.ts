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
 *
 * The kernel wraps tslab (which brings zeromq) and installs the viewers' JupyterLab extension:
 * neither comes with `npm install neurolmm` (tslab is an optional peer dependency); both come with
 * the neurolmm-jupyter package, which the install asks for when they are missing.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { NeurolmmError } from '../errors';
import { packageRoot } from '../viewers/assets';
import { installLabExtension, JUPYTER_PACKAGE, labExtensionSource } from '../viewers/labextension';
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
 * What the kernel needs beyond the library, found or not: undefined when both are there, else the
 * message naming what is missing and the command that installs it.
 */
export function kernelPackagesProblem(found: { tslab: boolean; labExtension: boolean }): string | undefined {
  const missing = [...(found.tslab ? [] : ['tslab 1.0.22 (with zeromq)']), ...(found.labExtension ? [] : ["the viewers' JupyterLab extension"])];
  if (missing.length === 0) return undefined;
  const root = packageRoot();
  const { version } = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { version: string };
  // the project an installed neurolmm belongs to: the folder holding its node_modules
  const parts = root.split(path.sep);
  const modules = parts.lastIndexOf('node_modules');
  const project = modules > 0 ? parts.slice(0, modules).join(path.sep) : root;
  return (
    `the Jupyter kernel needs ${missing.join(' and ')}, which \`npm install neurolmm\` leaves out: ` +
    `run \`npm install ${JUPYTER_PACKAGE}@${version}\` in ${project}, then \`npx neurolmm kernel install\` again`
  );
}

function resolvesFrom(dir: string, id: string): boolean {
  try {
    require.resolve(id, { paths: [dir] });
    return true;
  } catch {
    return false;
  }
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
  const problem = kernelPackagesProblem({
    tslab: resolvesFrom(path.dirname(launcher), 'tslab/package.json'),
    labExtension: labExtensionSource() !== undefined,
  });
  if (problem) throw new NeurolmmError(problem);
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
