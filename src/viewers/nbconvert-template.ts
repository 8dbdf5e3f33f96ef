/**
 * The nbconvert template "neurolmm": JupyterLab's `lab` HTML template whose widgets render from the
 * notebook's saved widget state with neurolmm's own bundled renderer (html-manager, the viewers and
 * Plotly, inlined) instead of html-manager loaded from a CDN, which cannot load neurolmm's widget
 * module. The exported page shows the viewers with no network:
 *   jupyter nbconvert --to html --template neurolmm notebook.ipynb
 * Installed by `npx neurolmm kernel install` beside the kernelspec.
 */
import * as fs from 'fs';
import * as path from 'path';
import { DataError } from '../errors';
import { embedBundle } from './widget-state';

export const NBCONVERT_TEMPLATE = 'neurolmm';

const CONF = {
  base_template: 'lab',
  mimetypes: { 'text/html': true },
};

const INDEX = `{%- extends 'lab/index.html.j2' -%}
{#- neurolmm: saved widgets render with neurolmm's bundled renderer (no CDN, no network) -#}
{% block jupyter_widgets %}
{%- if "widgets" in nb.metadata -%}
<script>
{% include 'neurolmm-widgets.js.j2' %}
</script>
{%- endif -%}
{% endblock jupyter_widgets %}
`;

/** Installs into a Jupyter data directory as <dataDir>/nbconvert/templates/neurolmm; returns that folder. */
export function installNbconvertTemplate(jupyterDataDir: string): string {
  const target = path.join(path.resolve(jupyterDataDir), 'nbconvert', 'templates', NBCONVERT_TEMPLATE);
  const bundle = embedBundle();
  // Jinja reads the included file as a template: the bundle goes in a raw block
  if (bundle.includes('endraw')) throw new DataError('the widget bundle contains "endraw"; it cannot be inlined by the nbconvert template');
  try {
    fs.rmSync(target, { recursive: true, force: true });
    fs.mkdirSync(target, { recursive: true });
    fs.writeFileSync(path.join(target, 'conf.json'), `${JSON.stringify(CONF, null, 2)}\n`);
    fs.writeFileSync(path.join(target, 'index.html.j2'), INDEX);
    fs.writeFileSync(path.join(target, 'neurolmm-widgets.js.j2'), `{% raw %}${bundle}{% endraw %}`);
  } catch (e) {
    throw new DataError(`cannot install the nbconvert template into ${target}: ${(e as Error).message}`);
  }
  return target;
}
