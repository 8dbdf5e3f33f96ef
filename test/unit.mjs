// `npm run test:unit`: the compiled tests that need neither Jupyter, Chromium nor a running kernel
// (every file of dist/test except the notebook, kernel protocol and conformance, kernel-link,
// JupyterLab, browser and real-SLURM tests), for a quick loop beside the full `npm test`.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

const root = join(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '..', 'dist', 'test');
const needsJupyterOrBrowser = /notebook|protocol|conformance|kernel-link|jupyterlab|browser|slurm/;
const files = readdirSync(root, { recursive: true })
  .filter((f) => f.endsWith('.test.js') && !needsJupyterOrBrowser.test(f))
  .sort()
  .map((f) => join(root, f));
const run = spawnSync(process.execPath, ['--test', '--test-reporter=spec', ...files], { stdio: 'inherit' });
process.exit(run.status ?? 1);
