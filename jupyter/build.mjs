// Copies the JupyterLab extension built in widgets/dist/labextension into this package (run by
// `npm run build:jupyter` from the repository root, after `npm run build:widgets`), its
// install.json naming this package, which is how users get it.
import { cpSync, existsSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const source = join(here, '..', 'widgets', 'dist', 'labextension');
const target = join(here, 'labextension');
if (!existsSync(join(source, 'package.json'))) throw new Error(`${source} is missing: run npm run build:widgets first`);
rmSync(target, { recursive: true, force: true });
cpSync(source, target, { recursive: true });
const install = {
  packageManager: 'npm',
  packageName: 'neurolmm-jupyter',
  uninstallInstructions: 'Remove this folder (npx neurolmm kernel install copied it here)',
};
writeFileSync(join(target, 'install.json'), JSON.stringify(install, null, 2) + '\n');
