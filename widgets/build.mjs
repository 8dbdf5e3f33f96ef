// Builds the front-end of neurolmm's widgets (run by `npm run build:widgets` from the repository root):
//   lib/                  tsc output (ES modules), the input of the JupyterLab build
//   dist/embed.js         one self-contained script (html-manager + views + Plotly) for saved widget state
//   dist/labextension/    the JupyterLab 4 prebuilt (federated) extension, made by @jupyterlab/builder
// `node widgets/build.mjs embed` rebuilds lib/ and dist/embed.js only: the quick loop while working on the views.
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
const run = (cmd, args) => execFileSync(process.execPath, [require.resolve(cmd), ...args], { cwd: here, stdio: 'inherit' });

// The webpack build takes minutes (it minifies Plotly), so an unchanged front-end is not rebuilt.
const inputs = ['build.mjs', 'package.json', 'tsconfig.json', 'lab-core/package.json', ...readdirSync(join(here, 'src')).map((f) => `src/${f}`)];
const hash = createHash('sha256');
for (const file of inputs.sort()) hash.update(file).update(readFileSync(join(here, file)));
for (const dep of ['esbuild', '@jupyterlab/builder', '@jupyter-widgets/html-manager', 'plotly.js-dist-min'])
  hash.update(dep).update(JSON.parse(readFileSync(require.resolve(`${dep}/package.json`), 'utf8')).version);
const digest = hash.digest('hex');
const stamp = join(here, 'dist/.inputs-sha256');
const embedOnly = process.argv[2] === 'embed';
if (
  !embedOnly &&
  process.env.NEUROLMM_WIDGETS_REBUILD !== '1' &&
  existsSync(stamp) &&
  readFileSync(stamp, 'utf8') === digest &&
  existsSync(join(here, 'dist/labextension/package.json'))
) {
  console.log('widgets: dist/ is up to date (NEUROLMM_WIDGETS_REBUILD=1 forces a rebuild)');
  process.exit(0);
}

rmSync(join(here, 'lib'), { recursive: true, force: true });
rmSync(join(here, embedOnly ? 'dist/embed.js' : 'dist'), { recursive: true, force: true });
rmSync(stamp, { force: true });
run('typescript/bin/tsc', ['-p', 'tsconfig.json']);

// html-manager's dependencies import stylesheets and fonts that the viewers do not use: CSS is
// injected as <style> (so the page stays one file) and fonts are dropped.
const assets = {
  name: 'inline-assets',
  setup(build) {
    build.onLoad({ filter: /\.css$/ }, async (args) => {
      const css = (await import('node:fs')).readFileSync(args.path, 'utf8').replace(/url\([^)]*\.(woff2?|ttf|eot|svg)[^)]*\)/g, 'none');
      return { contents: `const s=document.createElement('style');s.textContent=${JSON.stringify(css)};document.head.appendChild(s);`, loader: 'js' };
    });
  },
};
await esbuild.build({
  entryPoints: [join(here, 'lib/embed.js')],
  bundle: true,
  format: 'iife',
  platform: 'browser',
  target: 'es2020',
  minify: true,
  legalComments: 'none',
  outfile: join(here, 'dist/embed.js'),
  plugins: [assets],
  loader: { '.woff': 'empty', '.woff2': 'empty', '.ttf': 'empty', '.eot': 'empty', '.svg': 'empty' },
  define: { 'process.env.NODE_ENV': '"production"' },
  logLevel: 'warning',
});
if (embedOnly) process.exit(0);

// The JupyterLab extension: @jupyterlab/builder's webpack module federation, sharing
// @jupyter-widgets/base (jupyterlab_widgets provides it) and lab-core's packages with the host.
run('@jupyterlab/builder/lib/build-labextension.js', ['--core-path', join(here, 'lab-core'), here]);
writeFileSync(
  join(here, 'dist/labextension/install.json'),
  JSON.stringify(
    { packageManager: 'npm', packageName: 'neurolmm', uninstallInstructions: 'Remove this folder, or run: npx neurolmm kernel uninstall' },
    null,
    2,
  ) + '\n',
);
writeFileSync(stamp, digest);
