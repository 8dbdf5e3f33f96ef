/**
 * Display helpers usable without the kernel: R-style number formatting, HTML/text tables, danfojs
 * frames, Plotly bundles, MIME bundles and widgets without a kernel.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { dataFrameBundle, isDataFrameLike } from '../../src/display/dataframe';
import { formatColumn, formatNumber, formatPValues, signifStars } from '../../src/display/format';
import { escapeHtml, htmlTable, textTable } from '../../src/display/html';
import { CellExecution, display, mimeBundleOf, setCellExecutionSource, setDisplayPublisher } from '../../src/display/mime';
import { PlotlyFigure, setPlotlyInlining } from '../../src/display/plotly';
import { Widget, createWidget, liveWidgets, putBuffers, removeBuffers, setWidgetHost, widgetStateDocument } from '../../src/display/widget-host';

// danfojs publishes its types only through package.json "exports"; the test needs its runtime only.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const dfd = require('danfojs') as { DataFrame: new (data: Record<string, unknown[]>) => unknown };

test('formatColumn follows R format(): common decimals, scientific when narrower', () => {
  // Decimals needed for 4 significant digits: 3, 1 and 6; fixed would be 10 wide, scientific 9.
  assert.deepEqual(formatColumn([1.23456, 123.456, 0.001234], 4), ['1.235e+00', '1.235e+02', '1.234e-03']);
  assert.deepEqual(formatColumn([1.5, 2.25, 10]), ['1.50', '2.25', '10.00']);
  assert.deepEqual(formatColumn([1.5, -0.125]), ['1.500', '-0.125']);
  assert.deepEqual(formatColumn([NaN, Infinity, -Infinity, 1]), ['NaN', 'Inf', '-Inf', '1']);
  // print(100000) is 1e+05 in R, print(123456) is not.
  assert.deepEqual(
    [100000, 123456, 1e-10, 0.1 + 0.2, -1 / 3, 0].map((x) => formatNumber(x)),
    ['1e+05', '123456', '1e-10', '0.3', '-0.3333333', '0'],
  );
});

test('formatPValues follows R format.pval', () => {
  assert.deepEqual(formatPValues([0.5, 1e-20]), ['0.5', '<2e-16']);
  assert.deepEqual(formatPValues([0.0123, 0.000012]), ['0.0123', '1.2e-05']);
  assert.deepEqual(formatPValues([0.0312, 2e-5, 1e-17]), ['0.0312', '2e-05', '<2e-16']);
  assert.deepEqual(formatPValues([NaN, 1]), ['NA', '1']);
  assert.deepEqual([0.0005, 0.005, 0.03, 0.07, 0.5, NaN].map(signifStars), ['***', '**', '*', '.', ' ', '']);
});

test('htmlTable escapes, aligns numbers right and formats them per column; textTable matches', () => {
  assert.equal(escapeHtml(`<a href="x">&'</a>`), '&lt;a href=&quot;x&quot;&gt;&amp;&#39;&lt;/a&gt;');
  const spec = {
    caption: 'Fixed <effects>',
    columns: ['Estimate', 't value', 'term'],
    rows: [
      [1.5, 12.25, 'a<b'],
      [-0.125, 3, 'c'],
    ],
    rowLabels: ['(Intercept)', 'x'],
  };
  const right = ' style="text-align: right"';
  assert.equal(
    htmlTable(spec),
    '<div class="neurolmm-table"><table><caption>Fixed &lt;effects&gt;</caption><thead><tr><th></th>' +
      `<th${right}>Estimate</th><th${right}>t value</th><th>term</th></tr></thead><tbody>` +
      `<tr><th>(Intercept)</th><td${right}>1.500</td><td${right}>12.25</td><td>a&lt;b</td></tr>` +
      `<tr><th>x</th><td${right}>-0.125</td><td${right}>3.00</td><td>c</td></tr></tbody></table></div>`,
  );
  assert.equal(
    textTable(spec),
    ['Fixed <effects>', '            Estimate t value term', '(Intercept)    1.500   12.25 a<b', 'x             -0.125    3.00 c'].join('\n'),
  );
  assert.equal(textTable({ columns: ['p'], rows: [['<2e-16']], align: ['center'], footer: 'note' }), '  p\n<2e-16\n\nnote');
  assert.throws(() => htmlTable({ columns: ['a', 'b'], rows: [[1]] }), /row 0 has 1 cells for 2 columns/);
});

test('danfojs frames render as tables, long ones as head and tail like pandas', () => {
  const small = new dfd.DataFrame({ x: [1, 2.5, 3], group: ['a', 'b', 'c'] });
  assert.ok(isDataFrameLike(small));
  assert.ok(!isDataFrameLike({ columns: [], values: [] }));
  const bundle = mimeBundleOf(small);
  assert.equal(bundle['text/plain'], '    x group\n0 1.0 a\n1 2.5 b\n2 3.0 c');
  assert.match(String(bundle['text/html']), /<tr><th>1<\/th><td style="text-align: right">2.5<\/td><td>b<\/td><\/tr>/);

  const n = 100;
  const long = new dfd.DataFrame({ i: Array.from({ length: n }, (_, k) => k * 10), s: Array.from({ length: n }, (_, k) => `r${k}`) });
  const lines = String(dataFrameBundle(long as never)['text/plain']).split('\n');
  assert.deepEqual(
    lines.slice(1).map((line) => line.split(/\s+/)[0]),
    ['0', '1', '2', '3', '4', '...', '95', '96', '97', '98', '99', '', '100'],
  );
  assert.equal(lines.at(-1), '100 rows × 2 columns');
  assert.equal(lines[0], '      i s');
  assert.equal(lines[6], '... ... ...');
  assert.equal(lines[7], '95  950 r95');

  const series = (small as unknown as Record<string, unknown>)['x'];
  assert.equal(mimeBundleOf(series)['text/plain'], '    x\n0 1.0\n1 2.5\n2 3.0');
});

test('PlotlyFigure bundles the figure JSON and offline HTML with plotly.js inlined once', () => {
  const figure = new PlotlyFigure({
    data: [{ type: 'scatter', name: '</script><b>', x: new Float64Array([1, 2]), y: [3, 4] }],
    layout: { height: 300 },
  });
  const bundle = figure.toMimeBundle();
  assert.deepEqual(bundle['application/vnd.plotly.v1+json'], {
    data: [{ type: 'scatter', name: '</script><b>', x: [1, 2], y: [3, 4] }],
    layout: { height: 300 },
    config: {},
  });
  const html = String(bundle['text/html']);
  assert.equal(html.split('plotly.js v4.1.2').length - 1, 1, 'library inlined exactly once');
  assert.ok(html.includes('if (!window.Plotly) {'), 'library guarded by a global');
  assert.equal(html.split('</script>').length - 1, 2, 'trace names cannot close the script element');
  assert.ok(html.includes('"x":[1,2]') && html.includes('height: 300px'));
  assert.ok(!/https?:\/\/cdn/i.test(html.slice(0, 200)) && !html.includes('<script src='), 'no CDN');
  assert.equal(bundle['text/plain'], 'PlotlyFigure(1 trace: scatter)');

  setPlotlyInlining('first-output');
  try {
    const first = String(figure.toMimeBundle()['text/html']);
    const second = String(figure.toMimeBundle()['text/html']);
    assert.ok(first.includes('plotly.js v4.1.2') && !second.includes('plotly.js v4.1.2'));
  } finally {
    setPlotlyInlining('every-output');
  }

  const dir = mkdtempSync(path.join(os.tmpdir(), 'neurolmm-plotly-'));
  try {
    const file = path.join(dir, 'figure.html');
    const page = figure.toHTML(file);
    assert.equal(readFileSync(file, 'utf8'), page);
    assert.ok(page.startsWith('<!DOCTYPE html>') && page.includes('plotly.js v4.1.2') && page.includes('window.Plotly.newPlot'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("the kernel's inlining puts plotly.js in a notebook once, and again when the carrying cell runs again", () => {
  const figure = new PlotlyFigure({ data: [{ type: 'scatter', x: [1], y: [1] }] });
  let now: CellExecution | undefined;
  setCellExecutionSource(() => now);
  setPlotlyInlining('first-output');
  try {
    const carries = (cellId: string, requestId: string) => {
      now = { cellId, requestId };
      return String(figure.toMimeBundle()['text/html']).includes('plotly.js v4.1.2');
    };
    // cell a carries it; b reuses it; a run again replaces its output, so carries it again (once)
    assert.deepEqual(
      [carries('a', '1'), carries('a', '1'), carries('b', '2'), carries('a', '3'), carries('a', '3'), carries('b', '4')],
      [true, false, false, true, false, false],
    );
  } finally {
    setPlotlyInlining('every-output');
    setCellExecutionSource(undefined);
  }
});

test('mimeBundleOf and display work without the kernel', () => {
  assert.deepEqual(mimeBundleOf(1 + 1), { 'text/plain': '2' });
  assert.deepEqual(mimeBundleOf('text'), { 'text/plain': "'text'" });
  const png = mimeBundleOf({ toMimeBundle: () => ({ 'image/png': new Uint8Array([137, 80, 78, 71]), 'text/plain': 'logo' }) });
  assert.deepEqual(png, { 'image/png': 'iVBORw==', 'text/plain': 'logo' });
  assert.equal(typeof mimeBundleOf({ toMimeBundle: () => ({ 'text/html': '<i>x</i>' }) })['text/plain'], 'string');

  const printed: unknown[] = [];
  const log = console.log;
  console.log = (value: unknown) => printed.push(value);
  try {
    display({ toMimeBundle: () => ({ 'text/html': '<b>x</b>', 'text/plain': 'x' }) });
  } finally {
    console.log = log;
  }
  assert.deepEqual(printed, ['x']);

  const published: unknown[] = [];
  setDisplayPublisher((bundle, options) => published.push([bundle, options]));
  try {
    display(42, { displayId: 'd' });
  } finally {
    setDisplayPublisher(undefined);
  }
  assert.deepEqual(published, [[{ 'text/plain': '42' }, { displayId: 'd' }]]);
});

test('removeBuffers and putBuffers split binary values out of a state and back', () => {
  const floats = new Float32Array([1, 2]);
  const bytes = new Uint8Array([9]);
  const state = { a: { b: floats, c: 1 }, list: [1, bytes], n: null };
  const split = removeBuffers(state);
  assert.deepEqual(split.state, { a: { c: 1 }, list: [1, null], n: null });
  assert.deepEqual(split.bufferPaths, [
    ['a', 'b'],
    ['list', 1],
  ]);
  assert.deepEqual(
    split.buffers.map((b) => [...b]),
    [[...new Uint8Array(floats.buffer)], [9]],
  );
  assert.equal(state.a.b, floats, 'input left intact');
  putBuffers(split.state, split.bufferPaths, [floats, bytes]);
  assert.deepEqual(split.state, state);
});

test('widgets without a kernel keep local state and render the embedded widget state', () => {
  const w = createWidget({
    modelName: 'IntSliderModel',
    modelModule: '@jupyter-widgets/controls',
    modelModuleVersion: '2.0.0',
    state: { value: 1 },
    buffers: [{ path: ['data', 'bytes'], data: new Uint8Array([1, 2]) }],
  });
  try {
    const events: unknown[] = [];
    w.on('change:value', (value, previous) => events.push(['value', value, previous]));
    w.on('change', (changes) => events.push(['change', changes]));
    w.set({ value: 2, other: 'x' });
    w.set({ value: 2 });
    assert.deepEqual(events, [
      ['value', 2, 1],
      ['change', { value: 2, other: 'x' }],
    ]);
    assert.equal(w.get('value'), 2);
    w.send({ ignored: true }); // no frontend: dropped

    const entry = (widgetStateDocument([w]).state as Record<string, Record<string, unknown>>)[w.modelId];
    assert.equal(entry.model_name, 'IntSliderModel');
    assert.deepEqual((entry.state as Record<string, unknown>).data, {});
    assert.deepEqual(entry.buffers, [{ path: ['data', 'bytes'], encoding: 'base64', data: 'AQI=' }]);

    const bundle = w.toMimeBundle();
    assert.deepEqual(bundle['application/vnd.jupyter.widget-view+json'], { version_major: 2, version_minor: 0, model_id: w.modelId });
    const html = String(bundle['text/html']);
    assert.ok(html.includes('<script type="application/vnd.jupyter.widget-state+json">'));
    assert.ok(html.includes(`"${w.modelId}":{"model_name":"IntSliderModel"`));
    assert.ok(liveWidgets().includes(w));
  } finally {
    let closed = 0;
    w.on('close', () => closed++);
    w.close();
    w.close();
    assert.equal(closed, 1);
    assert.ok(!liveWidgets().includes(w));
  }

  class RecordingWidget extends Widget {}
  setWidgetHost({ createWidget: (spec) => new RecordingWidget(spec, 'fixed-id') });
  try {
    const hosted = createWidget({ modelName: 'M', modelModule: 'm', modelModuleVersion: '1' });
    assert.ok(hosted instanceof RecordingWidget && hosted.modelId === 'fixed-id');
    hosted.close();
  } finally {
    setWidgetHost(undefined);
  }
});
