/**
 * Kernel-side viewers without a browser: input checks and their messages, the widget state (binary
 * buffers, never JSON arrays), BLMM loading, the mesh curvature background, resampling, the
 * standalone HTML and the JupyterLab extension's layout and installation.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DataError } from '../../src/errors';
import { writeNifti } from '../../src/io/nifti';
import { Widget, setWidgetHost } from '../../src/display/widget-host';
import { installKernel } from '../../src/cli/kernel';
import { SurfaceViewer, VolumeViewer, blmmVolumeNames, defaultThreshold, installLabExtension, meshCurvature, resampleToGrid } from '../../src/viewers';
import { BLMM_DEMO, REPO, SKIP_DEMO, artifact, icosphere, syntheticBrain } from './fixtures';

const brain = syntheticBrain();
const ones = (n: number) => new Float32Array(n).fill(1);
const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'neurolmm-viewers-'));

describe('SurfaceViewer input checks', () => {
  it('a map whose length differs from the vertex count is a DataError naming map, hemisphere and counts', () => {
    assert.throws(
      () => new SurfaceViewer({ surface: brain, maps: { conT: { lh: ones(10242), rh: ones(10000) } } }),
      (e: Error) => e instanceof DataError && e.message === "map 'conT' (rh) has 10000 values but the rh mesh has 10242 vertices",
    );
    assert.throws(
      () => new SurfaceViewer({ surface: { lh: brain.lh }, maps: { beta: { nvol: 3, data: ones(2 * 10242) } } }),
      (e: Error) => e instanceof DataError && e.message === "map 'beta' (lh) has 20484 values but the lh mesh has 10242 vertices (x 3 volumes = 30726)",
    );
  });

  it('plain values with two hemispheres, unknown hemispheres, and no maps are DataErrors', () => {
    assert.throws(
      () => new SurfaceViewer({ surface: brain, maps: { t: ones(10242) } }),
      /map 't': the viewer has two hemispheres, so give \{ lh: values, rh: values \}/,
    );
    assert.throws(
      () => new SurfaceViewer({ surface: { lh: brain.lh }, maps: { t: { rh: ones(10242) } } }),
      /map 't' has values for rh but the viewer has no such surface \(it has lh\)/,
    );
    assert.throws(() => new SurfaceViewer({ surface: brain }), DataError);
    assert.throws(() => new SurfaceViewer({ surface: {}, maps: {} }), /needs a surface/);
    assert.throws(
      () => new SurfaceViewer({ surface: { lh: brain.lh }, background: { lh: ones(5) }, maps: { t: ones(10242) } }),
      /the lh background has 5 values but the lh mesh has 10242 vertices/,
    );
  });
});

describe('SurfaceViewer widget state', () => {
  const data = new Float32Array(2 * 10242).map((_, i) => i);
  const viewer = new SurfaceViewer({
    surface: brain,
    designs: { des1: { conT: { lh: { nvol: 2, data, names: ['a', 'b'] }, rh: { nvol: 2, data } } }, des2: { sigma2: { lh: ones(10242) } } },
    threshold: 2,
  });
  const spec = viewer.spec();

  it('carries meshes and maps as binary buffers at buffer paths, never as JSON arrays', () => {
    assert.equal(spec.modelName, 'SurfaceModel');
    assert.equal(spec.modelModule, 'neurolmm-widgets');
    assert.equal(spec.modelModuleVersion, `^${JSON.parse(fs.readFileSync(path.join(REPO, 'widgets', 'package.json'), 'utf8')).version}`);
    const paths = spec.buffers!.map((b) => b.path.join('.'));
    assert.deepEqual(paths, [
      'meshes.lh.vertices',
      'meshes.lh.faces',
      'meshes.lh.background',
      'meshes.rh.vertices',
      'meshes.rh.faces',
      'meshes.rh.background',
      'maps.0.values',
      'maps.1.values',
      'maps.2.values',
    ]);
    assert.equal(spec.buffers![0].data, brain.lh.vertices);
    assert.equal(spec.buffers![6].data, data);
    const json = JSON.stringify(spec.state);
    assert.ok(json.length < 2000, `JSON state is ${json.length} characters`);
    assert.deepEqual(
      (spec.state as any).maps.map((m: any) => [m.design, m.statistic, m.hemi, m.nvol, m.names]),
      [
        ['des1', 'conT', 'lh', 2, ['a', 'b']],
        ['des1', 'conT', 'rh', 2, []],
        ['des2', 'sigma2', 'lh', 1, []],
      ],
    );
    assert.equal((spec.state as any).threshold, 2);
  });

  it('toHTML writes one self-contained page: state, view tag and bundle inline, nothing fetched', () => {
    const file = viewer.toHTML(path.join(tmp(), 'brain.html'));
    const html = fs.readFileSync(file, 'utf8');
    assert.equal(html.match(/<script type="application\/vnd\.jupyter\.widget-state\+json">/g)?.length, 1);
    assert.equal(html.match(/<script type="application\/vnd\.jupyter\.widget-view\+json">/g)?.length, 1);
    // No external script or stylesheet (the browser test also checks that the page makes no request).
    assert.doesNotMatch(html, /<script[^>]+src=|<link[^>]+href=/);
    assert.match(html, /plotly\.js v4\.1\.2|Plotly/);
    const state = JSON.parse(/<script type="application\/vnd\.jupyter\.widget-state\+json">(.*?)<\/script>/s.exec(html)![1]);
    const [model] = Object.values(state.state) as any[];
    const vertices = model.buffers.find((b: any) => b.path.join('.') === 'meshes.lh.vertices');
    assert.equal(vertices.encoding, 'base64');
    assert.deepEqual(new Float32Array(new Uint8Array(Buffer.from(vertices.data, 'base64')).buffer), brain.lh.vertices);
    assert.equal(model.state.meshes.lh.vertices, undefined);
  });

  it('clicks reach on("click") listeners; out-of-range vertices are ignored', () => {
    const clicks: unknown[] = [];
    viewer.on('click', (c) => clicks.push(c));
    viewer.handleMessage({ event: 'click', hemi: 'rh', vertex: 17, value: 2.5, design: 'des1', statistic: 'conT', volume: 1 });
    viewer.handleMessage({ event: 'click', hemi: 'rh', vertex: 10242 });
    viewer.handleMessage({ event: 'click', hemi: 'xx', vertex: 1 });
    assert.deepEqual(clicks, [{ hemi: 'rh', vertex: 17, value: 2.5, design: 'des1', statistic: 'conT', volume: 1 }]);
    assert.deepEqual(viewer.get('selected'), { hemi: 'rh', vertex: 17 });
  });

  it('toMimeBundle shows a widget view; without a kernel the page embeds state and the bundle', () => {
    setWidgetHost(undefined);
    const bundle = viewer.toMimeBundle() as Record<string, any>;
    assert.equal(bundle['text/plain'], 'SurfaceViewer(lh 10242 vertices, rh 10242 vertices; designs des1, des2; maps conT, sigma2)');
    const modelId = bundle['application/vnd.jupyter.widget-view+json'].model_id;
    assert.match(bundle['text/html'], new RegExp(`"model_id":"${modelId}"`));
    assert.match(bundle['text/html'], /neurolmmWidgets/);
    // The same live widget is reused by later displays, and set() reaches it.
    viewer.set({ threshold: 3 });
    assert.equal((viewer.toMimeBundle() as any)['application/vnd.jupyter.widget-view+json'].model_id, modelId);
    viewer.close();
  });

  it('front-end changes of synced controls flow back through the host widget', () => {
    let created: Widget | undefined;
    setWidgetHost({ createWidget: (s) => (created = new Widget(s)) });
    try {
      const v = new SurfaceViewer({ surface: { lh: brain.lh }, maps: { t: ones(10242) } });
      v.toMimeBundle();
      assert.equal(created!.get('hemisphere'), 'left');
      // What kernel-ext does with a front-end `update`: apply it to the widget and run listeners.
      (created as any).applyChanges({ threshold: 1.25, camera: 'dorsal' });
      assert.equal(v.get('threshold'), 1.25);
      assert.equal(v.get('camera'), 'dorsal');
      v.close();
    } finally {
      setWidgetHost(undefined);
    }
  });
});

describe('SurfaceViewer thresholds', () => {
  const maps = { conT: { lh: ones(10242) }, conTlp: { lh: ones(10242) }, sigma2: { lh: ones(10242) } };

  it('start at the default of the statistic shown: |t| 2, -log10 p 1.3, else 0', () => {
    assert.deepEqual(
      [defaultThreshold('conT'), defaultThreshold('conTlp'), defaultThreshold('Chi2lp'), defaultThreshold('sigma2'), defaultThreshold('D')],
      [2, 1.3, 1.3, 0, 0],
    );
    assert.equal(new SurfaceViewer({ surface: { lh: brain.lh }, maps }).get('threshold'), 2);
    assert.equal(new SurfaceViewer({ surface: { lh: brain.lh }, maps, statistic: 'sigma2' }).get('threshold'), 0);
    assert.equal(new SurfaceViewer({ surface: { lh: brain.lh }, maps, threshold: 3 }).get('threshold'), 3);
    const state = new SurfaceViewer({ surface: { lh: brain.lh }, maps }).spec().state as Record<string, unknown>;
    assert.deepEqual(state.default_thresholds, { conT: 2, conTlp: 1.3, sigma2: 0 });
  });

  it('set() of a new statistic without a threshold takes its default; set() returns nothing to display', () => {
    const viewer = new SurfaceViewer({ surface: { lh: brain.lh }, maps });
    assert.equal(viewer.set({ statistic: 'sigma2' }), undefined);
    assert.equal(viewer.get('threshold'), 0);
    viewer.set({ statistic: 'conTlp', threshold: 3 });
    assert.equal(viewer.get('threshold'), 3);
    viewer.set({ statistic: 'conTlp', volume: 0 });
    assert.equal(viewer.get('threshold'), 3);
  });
});

describe('SurfaceViewer.fromBlmm', () => {
  it('a missing folder or results folder is a DataError naming the path', () => {
    assert.throws(() => SurfaceViewer.fromBlmm('/nonexistent/blmm'), /^DataError: BLMM folder not found: \/nonexistent\/blmm$/);
    const dir = tmp();
    fs.mkdirSync(path.join(dir, 'results_lh_des1'));
    assert.throws(
      () => SurfaceViewer.fromBlmm(dir, { hemi: 'lh', design: 'des7' }),
      (e: Error) =>
        e instanceof DataError && e.message === `BLMM results folder not found: ${path.join(dir, 'results_lh_des7')} (folders in ${dir}: results_lh_des1)`,
    );
    assert.throws(() => SurfaceViewer.fromBlmm(tmp()), /no BLMM results folders \(results_<lh\|rh>_<design>\) in /);
  });

  it('reads the demo: both hemispheres, three designs, masked vertices, named volumes', { skip: SKIP_DEMO }, () => {
    const viewer = SurfaceViewer.fromBlmm(BLMM_DEMO, { contrasts: ['Intercept', 'Sex', 'Cross-sectional age', 'Longitudinal time', 'NIH score'] });
    const spec = viewer.spec();
    const maps = (spec.state as any).maps as Array<{ design: string; statistic: string; hemi: string; nvol: number; names: string[] }>;
    const find = (design: string, statistic: string, hemi: string) =>
      maps.findIndex((m) => m.design === design && m.statistic === statistic && m.hemi === hemi);
    assert.deepEqual([...new Set(maps.map((m) => m.design))], ['compare', 'des1', 'des2']);
    assert.equal((spec.state as any).design, 'compare');
    const conT = maps[find('des1', 'conT', 'lh')];
    assert.deepEqual([conT.nvol, conT.names], [5, ['Intercept', 'Sex', 'Cross-sectional age', 'Longitudinal time', 'NIH score']]);
    assert.deepEqual(maps[find('des2', 'D', 'rh')].names, ['D11', 'D21', 'D22']);
    assert.equal(maps[find('des1', 'beta', 'lh')].nvol, 23);
    assert.equal(find('des1', 'mask', 'lh'), -1);
    // Values equal the .dat file's (vertex-major) entries, NaN outside the mask.
    const raw = new Float32Array(fs.readFileSync(path.join(BLMM_DEMO, 'results_lh_des1', 'blmm_vox_conT.dat')).buffer.slice(0));
    const mask = new Int32Array(fs.readFileSync(path.join(BLMM_DEMO, 'results_lh_des1', 'blmm_vox_mask.dat')).buffer.slice(0));
    const values = spec.buffers!.find((b) => b.path.join('.') === `maps.${find('des1', 'conT', 'lh')}.values`)!.data as Float32Array;
    let checked = 0;
    for (let i = 0; i < 10242; i += 97) {
      for (let v = 0; v < 5; v++) {
        if (mask[i] === 0) assert.ok(Number.isNaN(values[v * 10242 + i]));
        else assert.equal(values[v * 10242 + i], raw[i * 5 + v]);
        checked++;
      }
    }
    assert.ok(checked > 500 && mask.some((m) => m === 0) && mask.some((m) => m !== 0));
  });

  it('a design folder whose vertex count differs from the surface is a DataError', { skip: SKIP_DEMO }, () => {
    const dir = tmp();
    fs.mkdirSync(path.join(dir, 'geom'));
    fs.copyFileSync(path.join(BLMM_DEMO, 'geom', 'lh.pial'), path.join(dir, 'geom', 'lh.pial'));
    fs.mkdirSync(path.join(dir, 'results_lh_small'));
    fs.writeFileSync(path.join(dir, 'results_lh_small', 'blmm_vox_conT.dat'), Buffer.alloc(4 * 642));
    fs.writeFileSync(path.join(dir, 'results_lh_small', 'blmm_vox_mask.dat'), Buffer.alloc(4 * 642));
    assert.throws(() => SurfaceViewer.fromBlmm(dir, { hemi: 'lh' }), new RegExp(`results_lh_small has maps of 642 vertices but lh.pial has 10242$`));
  });

  it('volume names: contrasts, vech of D, numbered otherwise', () => {
    assert.deepEqual(blmmVolumeNames('D', 6), ['D11', 'D21', 'D31', 'D22', 'D32', 'D33']);
    assert.deepEqual(blmmVolumeNames('D', 1), ['D11']);
    assert.deepEqual(blmmVolumeNames('conSE', 2, ['a', 'b']), ['a', 'b']);
    assert.deepEqual(blmmVolumeNames('conT', 2), ['contrast 1', 'contrast 2']);
    assert.deepEqual(blmmVolumeNames('beta', 2), ['beta 1', 'beta 2']);
    assert.deepEqual(blmmVolumeNames('sigma2', 1), ['sigma2']);
  });
});

describe('meshCurvature', () => {
  it('on a sphere of radius r: -(1 - cos θ) r for neighbours at angle θ, negative (convex) everywhere', () => {
    const sphere = icosphere(3, 10);
    const curvature = meshCurvature(sphere);
    assert.equal(curvature.length, 642);
    // Every neighbour sits at about the same angle θ, so the umbrella displacement along the
    // outward normal is r cos θ - r; the mean edge length e gives θ = 2 asin(e / 2r).
    for (let i = 0; i < curvature.length; i++) {
      assert.ok(curvature[i] < 0, `vertex ${i}: ${curvature[i]}`);
    }
    const mean = curvature.reduce((s, c) => s + c, 0) / curvature.length;
    let edges = 0,
      total = 0;
    for (let f = 0; f < sphere.faces.length; f += 3) {
      for (const [a, b] of [
        [0, 1],
        [1, 2],
        [2, 0],
      ]) {
        const p = sphere.faces[f + a],
          q = sphere.faces[f + b];
        total += Math.hypot(...[0, 1, 2].map((k) => sphere.vertices[3 * p + k] - sphere.vertices[3 * q + k]));
        edges++;
      }
    }
    const theta = 2 * Math.asin(total / edges / 20);
    assert.ok(Math.abs(mean - -10 * (1 - Math.cos(theta))) < 0.05 * 10 * (1 - Math.cos(theta)), `mean ${mean}`);
  });

  it('is positive at the bottom of a dent (a sulcus) and negative on the convex surface around it', () => {
    const sphere = icosphere(4, 10);
    // A Gaussian well of depth 3 around the north pole: concave at its bottom.
    const angle = (i: number) => Math.acos(sphere.vertices[3 * i + 2] / 10);
    const dented = new Float32Array(sphere.vertices);
    for (let i = 0; i < sphere.nvertices; i++) {
      const depth = 1 - 0.3 * Math.exp(-((angle(i) / 0.25) ** 2));
      for (let k = 0; k < 3; k++) dented[3 * i + k] *= depth;
    }
    const curvature = meshCurvature({ vertices: dented, faces: sphere.faces });
    let bottom = 0,
      rim = 0;
    for (let i = 0; i < sphere.nvertices; i++) {
      if (angle(i) < 0.08) {
        assert.ok(curvature[i] > 0, `vertex ${i} at ${angle(i)} rad: ${curvature[i]}`);
        bottom++;
      }
      if (angle(i) > 0.45 && angle(i) < 0.6) {
        assert.ok(curvature[i] < 0, `vertex ${i} at ${angle(i)} rad: ${curvature[i]}`);
        rim++;
      }
    }
    assert.ok(bottom >= 1 && rim >= 10, `${bottom} bottom and ${rim} rim vertices`);
  });
});

describe('VolumeViewer input checks and resampling', () => {
  const affine = [
    [2, 0, 0, -10],
    [0, 2, 0, -10],
    [0, 0, 2, -10],
    [0, 0, 0, 1],
  ];

  it('data that do not fill the grid are a DataError with the counts', () => {
    assert.throws(
      () => new VolumeViewer({ stat: { dims: [4, 5, 6], data: new Float32Array(100), affine } }),
      (e: Error) => e instanceof DataError && e.message === 'stat map has 100 values but its dims [4, 5, 6] make 120 voxels per volume',
    );
    assert.throws(
      () => new VolumeViewer({ stat: { dims: [4, 5, 6], data: new Float32Array(240), affine }, names: ['one'] }),
      /stat map has 2 volumes but 1 names/,
    );
  });

  it('resamples a background from another grid by nearest neighbour in world space', () => {
    // Background: 1 mm grid whose value is its own world x coordinate.
    const bgDims = [30, 30, 30];
    const bgAffine = [
      [1, 0, 0, -15],
      [0, 1, 0, -15],
      [0, 0, 1, -15],
      [0, 0, 0, 1],
    ];
    const data = new Float32Array(27000).map((_, n) => (n % 30) - 15);
    const out = resampleToGrid({ dims: bgDims, data, affine: bgAffine }, [4, 5, 6], affine);
    for (let k = 0; k < 6; k++) for (let j = 0; j < 5; j++) for (let i = 0; i < 4; i++) assert.equal(out[i + 4 * (j + 5 * k)], 2 * i - 10);
    // Outside the background: 0.
    const shifted = resampleToGrid(
      { dims: bgDims, data, affine: bgAffine },
      [4, 1, 1],
      [
        [10, 0, 0, 0],
        [0, 1, 0, 0],
        [0, 0, 1, 0],
        [0, 0, 0, 1],
      ],
    );
    assert.deepEqual(Array.from(shifted), [0, 10, 0, 0]);
  });

  it('fromNifti reads a 4D stat map and a background on another grid', () => {
    const dir = tmp();
    const data = new Float32Array(240).map((_, n) => n);
    writeNifti(path.join(dir, 'stat.nii.gz'), { dims: [4, 5, 6, 2], data, affine });
    writeNifti(path.join(dir, 'anat.nii'), {
      dims: [5, 10, 12],
      data: new Float32Array(600).fill(3),
      affine: [
        [1, 0, 0, -10],
        [0, 1, 0, -10],
        [0, 0, 1, -10],
        [0, 0, 0, 1],
      ],
    });
    const viewer = VolumeViewer.fromNifti(path.join(dir, 'stat.nii.gz'), { background: path.join(dir, 'anat.nii'), names: ['a', 'b'], threshold: 2 });
    const spec = viewer.spec();
    assert.deepEqual(
      [(spec.state as any).dims, (spec.state as any).nvol, (spec.state as any).volume_names, (spec.state as any).threshold],
      [[4, 5, 6], 2, ['a', 'b'], 2],
    );
    assert.deepEqual(Array.from(spec.buffers![0].data as Float32Array), Array.from(data));
    // Stat voxels i = 0..3 sit at x = -10, -8, -6, -4 mm; the 1 mm background covers x = -10..-6 only.
    const background = spec.buffers![1].data as Float32Array;
    assert.deepEqual(
      [0, 1, 2, 3, 4 * 5 * 6 - 2, 4 * 5 * 6 - 1].map((n) => background[n]),
      [3, 3, 3, 0, 3, 0],
    );
    assert.equal((spec.state as any).title, path.join(dir, 'stat.nii.gz'));
    assert.throws(() => VolumeViewer.fromNifti(path.join(dir, 'missing.nii')), DataError);
  });

  it('the widget state holds the stat map and background as buffers and the affine row-major', () => {
    const viewer = new VolumeViewer({
      stat: { dims: [4, 5, 6], data: new Float32Array(240), affine },
      background: { dims: [4, 5, 6], data: new Float32Array(120).fill(7), affine },
    });
    const spec = viewer.spec();
    assert.deepEqual(
      spec.buffers!.map((b) => [b.path.join('.'), (b.data as Float32Array).length]),
      [
        ['stat', 240],
        ['background', 120],
      ],
    );
    assert.deepEqual((spec.state as any).affine, [2, 0, 0, -10, 0, 2, 0, -10, 0, 0, 2, -10, 0, 0, 0, 1]);
    assert.deepEqual([(spec.state as any).nvol, (spec.state as any).cursor], [2, [2, 2, 3]]);
    assert.equal(viewer.describe(), 'VolumeViewer(4x5x6 voxels, 2 volumes, with background)');
  });
});

describe('widgets package and JupyterLab extension', () => {
  const widgets = path.join(REPO, 'widgets');
  const lab = path.join(widgets, 'dist', 'labextension');

  it('the front-end registers the version of widgets/package.json', () => {
    const version = JSON.parse(fs.readFileSync(path.join(widgets, 'package.json'), 'utf8')).version;
    assert.match(fs.readFileSync(path.join(widgets, 'src', 'version.ts'), 'utf8'), new RegExp(`MODULE_VERSION = '${version.replace(/\./g, '\\.')}'`));
  });

  it('is a federated prebuilt extension sharing @jupyter-widgets/base as a singleton', () => {
    const manifest = JSON.parse(fs.readFileSync(path.join(lab, 'package.json'), 'utf8'));
    assert.equal(manifest.name, 'neurolmm-widgets');
    assert.equal(manifest.jupyterlab._build.extension, './extension');
    assert.match(manifest.jupyterlab._build.load, /^static\/remoteEntry\.[0-9a-f]+\.js$/);
    assert.deepEqual(manifest.jupyterlab.sharedPackages['@jupyter-widgets/base'], { bundled: false, singleton: true });
    const remoteEntry = fs.readFileSync(path.join(lab, manifest.jupyterlab._build.load), 'utf8');
    assert.match(remoteEntry, /"neurolmm-widgets"/);
    assert.match(remoteEntry, /@jupyter-widgets\/base/);
    assert.deepEqual(JSON.parse(fs.readFileSync(path.join(lab, 'install.json'), 'utf8')).packageName, 'neurolmm');
  });

  it('installLabExtension copies it under <jupyter data dir>/labextensions, and kernel install puts it beside the kernelspec', () => {
    const dataDir = path.join(tmp(), '.local', 'share', 'jupyter');
    const target = installLabExtension(dataDir);
    assert.equal(target, path.join(dataDir, 'labextensions', 'neurolmm-widgets'));
    assert.deepEqual(fs.readdirSync(target).sort(), fs.readdirSync(lab).sort());
    const prefix = tmp();
    installKernel({ prefix });
    assert.ok(fs.existsSync(path.join(prefix, 'share', 'jupyter', 'labextensions', 'neurolmm-widgets', 'package.json')));
    assert.ok(fs.existsSync(path.join(prefix, 'share', 'jupyter', 'kernels', 'neurolmm', 'kernel.json')));
    // Reinstalling replaces the old copy.
    fs.writeFileSync(path.join(target, 'stale.js'), '');
    installLabExtension(dataDir);
    assert.equal(fs.existsSync(path.join(target, 'stale.js')), false);
  });

  it('keeps test artifacts out of git', () => {
    assert.match(fs.readFileSync(path.join(REPO, '.gitignore'), 'utf8'), /^test-artifacts\/$/m);
    assert.ok(artifact('x').startsWith(path.join(REPO, 'test-artifacts')));
  });
});
