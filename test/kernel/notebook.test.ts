/**
 * A notebook executed headless by `python3 -m nbconvert --to notebook --execute` on the installed
 * kernel: stream output, execute_result, library displays (htmlTable, PlotlyFigure, a danfojs
 * frame), a widget (nbclient saves its state in the notebook metadata), an error that does not stop
 * the following cells.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import type { Output } from '../notebook-run';
import { DIST_DIR, withTestKernel } from './jupyter';

const MODULES = ['jupyter_client', 'nbclient', 'nbconvert'];

const display = (file: string) => JSON.stringify(path.join(DIST_DIR, 'src', 'display', file));

const CELLS = [
  'console.log("hello from neurolmm");\n40 + 2',
  `import { htmlTable } from ${display('html')};\n` +
    'display({ toMimeBundle: () => ({ "text/html": htmlTable({ columns: ["estimate"], rows: [[1.5], [-0.25]] }) }) })',
  `import { PlotlyFigure } from ${display('plotly')};\n` + 'new PlotlyFigure({ data: [{ type: "bar", x: ["a", "b"], y: [1, 2] }], layout: { height: 300 } })',
  `const dfd = require(${JSON.stringify(require.resolve('danfojs'))});\n` + 'new dfd.DataFrame({ x: [1, 2.5, 3], group: ["a", "b", "c"] })',
  'const slider = widgets.create({ modelName: "IntSliderModel", modelModule: "@jupyter-widgets/controls",\n' +
    '  modelModuleVersion: "2.0.0", viewName: "IntSliderView", viewModule: "@jupyter-widgets/controls",\n' +
    '  viewModuleVersion: "2.0.0", state: { value: 5, min: 0, max: 10, bins: new Uint8Array([1, 2, 3]) } });\n' +
    'slider',
  'throw new Error("expected failure")',
  '"still running"',
];

test('notebook executed with nbconvert on the neurolmm kernel', (t) =>
  withTestKernel(t, MODULES, async (python, kernel) => {
    const input = path.join(kernel.workDir, 'smoke.ipynb');
    const notebook = {
      nbformat: 4,
      nbformat_minor: 4,
      metadata: { kernelspec: { name: 'neurolmm', display_name: 'neurolmm (TypeScript)', language: 'typescript' } },
      cells: CELLS.map((source) => ({ cell_type: 'code', metadata: {}, execution_count: null, outputs: [], source })),
    };
    writeFileSync(input, JSON.stringify(notebook));
    const run = spawnSync(
      python,
      [
        '-m',
        'nbconvert',
        '--to',
        'notebook',
        '--execute',
        '--allow-errors',
        '--ExecutePreprocessor.kernel_name=neurolmm',
        '--ExecutePreprocessor.timeout=120',
        '--output',
        'executed.ipynb',
        input,
      ],
      { cwd: kernel.workDir, env: kernel.env, encoding: 'utf8', timeout: 300_000 },
    );
    assert.equal(run.status, 0, run.stderr);
    const executed = JSON.parse(readFileSync(path.join(kernel.workDir, 'executed.ipynb'), 'utf8'));
    const outputs: Output[][] = executed.cells.map((cell: { outputs: Output[] }) => cell.outputs);
    const text = (value: string | string[] | unknown) => (Array.isArray(value) ? value.join('') : String(value));
    const only = (cell: number, type: string) => {
      const found = outputs[cell].filter((o) => o.output_type === type);
      assert.equal(found.length, 1, `cell ${cell}: outputs ${outputs[cell].map((o) => o.output_type)}`);
      return found[0];
    };

    const [stream, result] = outputs[0];
    assert.deepEqual([stream.output_type, stream.name, text(stream.text)], ['stream', 'stdout', 'hello from neurolmm\n']);
    assert.deepEqual([result.output_type, text(result.data?.['text/plain'])], ['execute_result', '42']);

    const table = text(only(1, 'display_data').data?.['text/html']);
    assert.match(table, /<th style="text-align: right">estimate<\/th>/);
    assert.match(table, /<td style="text-align: right">1\.50<\/td>.*<td style="text-align: right">-0\.25<\/td>/);

    const plot = only(2, 'execute_result').data!;
    const figure = plot['application/vnd.plotly.v1+json'] as { data: { type: string; y: number[] }[] };
    assert.deepEqual(figure.data, [{ type: 'bar', x: ['a', 'b'], y: [1, 2] }]);
    assert.match(text(plot['text/html']), /plotly\.js v4\.1\.2/);
    assert.match(text(plot['text/html']), /window\.Plotly\.newPlot/);
    assert.equal(text(plot['text/plain']), 'PlotlyFigure(1 trace: bar)');

    const frame = only(3, 'execute_result').data!;
    assert.match(text(frame['text/html']), /<th>2<\/th><td style="text-align: right">3.0<\/td><td>c<\/td>/);
    assert.equal(text(frame['text/plain']), '    x group\n0 1.0 a\n1 2.5 b\n2 3.0 c');

    const view = only(4, 'execute_result').data!['application/vnd.jupyter.widget-view+json'] as { model_id: string };
    const savedState = executed.metadata.widgets['application/vnd.jupyter.widget-state+json'].state[view.model_id];
    assert.equal(savedState.model_name, 'IntSliderModel');
    assert.equal(savedState.state.value, 5);
    assert.deepEqual(savedState.buffers, [{ path: ['bins'], encoding: 'base64', data: Buffer.from([1, 2, 3]).toString('base64') }]);

    const error = only(5, 'error');
    assert.deepEqual([error.ename, error.evalue], ['Error', 'expected failure']);
    assert.equal(text(only(6, 'execute_result').data?.['text/plain']), "'still running'");
  }));
