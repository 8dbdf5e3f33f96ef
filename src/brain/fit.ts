/**
 * A whole-brain fit: BLMM-named maps (volume-major Float32Arrays), the per-voxel status with
 * reason counts, the ordinary ROI fit at any voxel, map writing and the likelihood-ratio
 * comparison of two fits.
 */
import * as nodePath from 'path';
import { html, tableHtml, textTable, type TableSpec } from '../display/html';
import type { MimeBundle } from '../display/mime';
import { DataError, ModelError } from '../errors';
import { modelFrame } from '../frame/modelframe';
import type { Column, Table } from '../frame/types';
import { logChisqMixtureUpper, negLog10FromLn } from '../stats/distributions';
import { writeDat } from '../io/dat';
import { writeMap, type ImageGeometry } from '../io/images';
import { LinearMixedModel } from '../lmm/model';
import { rememberData } from '../frame/fit-data';
import type { Contrast } from './contrasts';
import { STATUS_REASONS, VoxelStatus } from './layout';
import { writeMapSet } from './output';

export interface BrainMap {
  name: string;
  nvol: number;
  /** what each volume is: coefficient, contrast or vech entry */
  volumes: string[];
  /** volume-major: volume v at [v * nvox, (v + 1) * nvox) */
  data: Float32Array;
  /** stored as int32 in BLMM's .dat outputs (n, edf, mask) */
  integer?: boolean;
}

/** How `voxel(i)` gets a voxel's data back: one value per table row (NaN where missing). */
export interface VoxelDataSource {
  /** the table the model was fitted on, without the response */
  table: Table;
  /** the formula's response name, given the voxel's values */
  response: string;
  values(voxel: number): Float64Array;
}

export interface BrainFitInit<M = LinearMixedModel> {
  formula: string;
  REML: boolean;
  xNames: string[];
  /** random-effects variance parameters per voxel (theta length), for comparisons */
  ntheta: number;
  nimages: number;
  nvox: number;
  geometry: ImageGeometry;
  contrasts: Contrast[];
  maps: BrainMap[];
  status: Uint8Array;
  llh: Float64Array;
  seconds: number;
  evaluations: number;
  /** voxels fitted with no more observations than random effects */
  crowded?: number;
  data?: VoxelDataSource;
  /** the ROI fit of a voxel's table (the model's rows, the voxel's values as the response); lmer() by default */
  voxelModel?: (table: Table) => M;
  /** lines the summary prints under the formula (residual structures) */
  description?: string[];
}

export interface MapRange {
  map: string;
  volume: string;
  min: number;
  max: number;
}

export interface BrainReport {
  formula: string;
  REML: boolean;
  images: number;
  voxels: number;
  inMask: number;
  fitted: number;
  failures: Record<string, number>;
  seconds: number;
  evaluationsPerVoxel: number;
  ranges: MapRange[];
}

/** Named maps over one geometry, reachable by name and writable in the inputs' format. */
export class BrainMaps {
  protected readonly maps = new Map<string, BrainMap>();

  constructor(
    readonly nvox: number,
    readonly geometry: ImageGeometry,
    maps: BrainMap[],
  ) {
    for (const m of maps) this.maps.set(m.name, m);
  }

  get mapNames(): string[] {
    return [...this.maps.keys()];
  }

  /** The map `name` (all volumes), or one volume by index or name ('conT', 'age'). */
  map(name: string, volume?: number | string): Float32Array {
    const m = this.mapInfo(name);
    if (volume === undefined) return m.data;
    const v = typeof volume === 'number' ? volume : m.volumes.indexOf(volume);
    if (!(Number.isInteger(v) && v >= 0 && v < m.nvol)) {
      throw new DataError(`map '${name}' has volumes ${m.volumes.map((x, i) => `${i}: ${x}`).join(', ')}; asked for ${volume}`);
    }
    return m.data.subarray(v * this.nvox, (v + 1) * this.nvox);
  }

  mapInfo(name: string): BrainMap {
    const m = this.maps.get(name);
    if (!m) throw new DataError(`no map '${name}' (maps: ${this.mapNames.join(', ')})`);
    return m;
  }

  /**
   * Writes every map as `<prefix><name>` in `dir` in the inputs' format (NIfTI with the input's
   * affine for volumes, GIfTI for surfaces, BLMM's vertex-major .dat for .dat inputs, n / edf /
   * mask as int32 there) or in `format`, as one set with a manifest (see ./output.ts): maps of an
   * earlier run in `dir` are refused unless `overwrite`. Returns the paths written.
   */
  write(dir: string, options: { format?: 'nii' | 'nii.gz' | 'gii' | 'dat'; prefix?: string; overwrite?: boolean } = {}): string[] {
    const prefix = options.prefix ?? 'blmm_vox_';
    const dat = options.format === 'dat' || (options.format === undefined && this.geometry.format === 'dat' && this.geometry.kind === 'surface');
    return writeMapSet(dir, { prefix, overwrite: options.overwrite, model: this.manifestModel() }, (staging) =>
      [...this.maps.values()].map((m) => {
        const base = nodePath.join(staging, prefix + m.name);
        let path: string;
        if (dat && m.integer) {
          const ints = new Int32Array(m.data.length);
          for (let i = 0; i < this.nvox; i++) for (let v = 0; v < m.nvol; v++) ints[i * m.nvol + v] = m.data[v * this.nvox + i];
          writeDat((path = `${base}.dat`), ints);
        } else {
          path = writeMap(options.format ? `${base}.${options.format}` : base, m.data, this.geometry, { names: m.volumes });
        }
        return { path, name: m.name, volumes: m.volumes };
      }),
    );
  }

  /** What the manifest says about the model these maps come from (nothing for derived maps). */
  protected manifestModel(): Record<string, unknown> | undefined {
    return undefined;
  }
}

export class BrainFit<M = LinearMixedModel> extends BrainMaps {
  readonly formula: string;
  readonly REML: boolean;
  readonly xNames: string[];
  readonly ntheta: number;
  readonly nimages: number;
  readonly contrasts: Contrast[];
  /** VoxelStatus per voxel: 0 fitted, else why not */
  readonly status: Uint8Array;
  /** the log-likelihood in double precision (the llh map is float32) */
  readonly llh: Float64Array;
  readonly seconds: number;
  readonly evaluations: number;
  /** voxels fitted with no more observations than random effects (lme4's check.nobs.vs.nRE ignored) */
  readonly crowded: number;
  private readonly data?: VoxelDataSource;
  private readonly voxelModel: (table: Table) => M;
  readonly description: string[];

  constructor(init: BrainFitInit<M>) {
    super(init.nvox, init.geometry, init.maps);
    this.formula = init.formula;
    this.REML = init.REML;
    this.xNames = init.xNames;
    this.ntheta = init.ntheta;
    this.nimages = init.nimages;
    this.contrasts = init.contrasts;
    this.status = init.status;
    this.llh = init.llh;
    this.seconds = init.seconds;
    this.evaluations = init.evaluations;
    this.crowded = init.crowded ?? 0;
    this.data = init.data;
    this.description = init.description ?? [];
    this.voxelModel =
      init.voxelModel ??
      ((table) => {
        const fit = new LinearMixedModel(modelFrame(this.formula, table), { REML: this.REML });
        rememberData(fit, table);
        return fit as M;
      });
  }

  protected override manifestModel(): Record<string, unknown> {
    return { formula: this.formula, REML: this.REML, images: this.nimages, fixedEffects: this.xNames, contrasts: this.contrasts.map((c) => c.name) };
  }

  /**
   * Voxels in the analysis (inside the analysis mask, with at least one image observed), fitted,
   * and the others in the analysis by reason.
   */
  counts(): { inMask: number; fitted: number; failures: Record<string, number> } {
    const byCode = new Map<number, number>();
    for (const s of this.status) byCode.set(s, (byCode.get(s) ?? 0) + 1);
    const outside = [VoxelStatus.fitted, VoxelStatus.outsideMask, VoxelStatus.noData] as number[];
    const failures: Record<string, number> = {};
    for (const [code, count] of byCode) if (!outside.includes(code)) failures[STATUS_REASONS[code]] = count;
    const excluded = (byCode.get(VoxelStatus.outsideMask) ?? 0) + (byCode.get(VoxelStatus.noData) ?? 0);
    return { inMask: this.nvox - excluded, fitted: byCode.get(VoxelStatus.fitted) ?? 0, failures };
  }

  report(): BrainReport {
    const { inMask, fitted, failures } = this.counts();
    const ranges: MapRange[] = [];
    for (const m of this.maps.values()) {
      for (let v = 0; v < m.nvol; v++) {
        let min = Infinity;
        let max = -Infinity;
        const d = m.data.subarray(v * this.nvox, (v + 1) * this.nvox);
        for (let i = 0; i < d.length; i++) {
          if (this.status[i] !== VoxelStatus.fitted) continue;
          const x = d[i];
          if (x < min) min = x;
          if (x > max) max = x;
        }
        ranges.push({ map: m.name, volume: m.volumes[v], min: fitted ? min : NaN, max: fitted ? max : NaN });
      }
    }
    return {
      formula: this.formula,
      REML: this.REML,
      images: this.nimages,
      voxels: this.nvox,
      inMask,
      fitted,
      failures,
      seconds: this.seconds,
      evaluationsPerVoxel: fitted ? this.evaluations / fitted : 0,
      ranges,
    };
  }

  private summarySpecs(): { header: string[]; failures?: TableSpec; ranges: TableSpec } {
    const r = this.report();
    const header = [
      `Whole-brain linear mixed model fit by ${this.REML ? 'REML' : 'maximum likelihood'}`,
      `Formula: ${this.formula}`,
      ...this.description,
      `Images: ${r.images}   Voxels: ${r.voxels}   In mask: ${r.inMask}   Fitted: ${r.fitted}   Failed: ${r.inMask - r.fitted}`,
      '(in mask: inside the analysis mask with at least one image observed)',
      `Time: ${r.seconds.toFixed(1)} s   Deviance evaluations per voxel: ${r.evaluationsPerVoxel.toFixed(1)}`,
      ...(this.crowded ? [`Fitted with no more observations than random effects (lme4's check.nobs.vs.nRE ignored): ${this.crowded}`] : []),
    ];
    const failureRows = Object.entries(r.failures).map(([reason, count]) => [reason, count]);
    return {
      header,
      failures: failureRows.length ? { caption: 'Voxels not fitted', columns: ['reason', 'voxels'], rows: failureRows, align: ['left', 'right'] } : undefined,
      ranges: {
        caption: 'Map ranges over the fitted voxels',
        columns: ['map', 'volume', 'min', 'max'],
        rows: r.ranges.map((x) => [x.map, x.volume, x.min, x.max]),
        align: ['left', 'left', 'right', 'right'],
        digits: 5,
      },
    };
  }

  /** Voxel counts, failures by reason, and the range of every map volume over the fitted voxels. */
  summary(): string {
    const s = this.summarySpecs();
    return [...s.header, '', ...(s.failures ? [textTable(s.failures), ''] : []), textTable(s.ranges)].join('\n');
  }

  override toString(): string {
    return this.summary();
  }

  toMimeBundle(): MimeBundle {
    const s = this.summarySpecs();
    const summary = html`<div><pre>${s.header.join('\n')}</pre>${s.failures ? tableHtml(s.failures) : ''}${tableHtml(s.ranges)}</div>`;
    return { 'text/plain': this.summary(), 'text/html': summary.markup };
  }

  toJSON(): BrainReport {
    return this.report();
  }

  /**
   * The ordinary ROI fit at voxel i: lmer() (or the fit's lme()/gls()) on the voxel's values as
   * the response, missing images left out. The whole-brain estimates at i equal this model's.
   */
  voxel(i: number): M {
    if (!(Number.isInteger(i) && i >= 0 && i < this.nvox)) throw new DataError(`voxel ${i} is outside 0..${this.nvox - 1}`);
    if (!this.data) throw new DataError('this fit keeps no image data (it was read back from files)');
    const { table, response } = this.data;
    const values = this.data.values(i);
    const column: Column = { kind: 'numeric', values };
    const withResponse: Table = {
      names: table.names.includes(response) ? table.names : [...table.names, response],
      nrows: table.nrows,
      source: table.source,
      column: (name) => (name === response ? column : table.column(name)),
    };
    return this.voxelModel(withResponse);
  }
}

/**
 * The likelihood-ratio test of a reduced fit A against a full fit B at every voxel (BLMM's
 * blmm_compare): Chi2 = 2 (llh_B - llh_A) clipped at 0, and Chi2lp = -log10 p from the 50:50
 * mixture of chi-square(d - 1) and chi-square(d), d the number of extra variance parameters
 * (Stram & Lee's boundary distribution), in log space so it never saturates. Both fits must
 * share images, voxels and (for REML) fixed effects.
 */
export function compareFits(reduced: BrainFit<unknown>, full: BrainFit<unknown>): BrainMaps {
  if (reduced.nvox !== full.nvox) throw new ModelError(`the fits have ${reduced.nvox} and ${full.nvox} voxels`);
  if (reduced.REML !== full.REML) throw new ModelError('one fit is REML and the other ML: refit both the same way');
  if (reduced.REML && reduced.xNames.join('\u0000') !== full.xNames.join('\u0000')) {
    throw new ModelError('REML fits with different fixed effects are not comparable by likelihood ratio: refit both with REML = false');
  }
  const d = full.ntheta - reduced.ntheta;
  if (d <= 0) throw new ModelError(`the full model must have more variance parameters than the reduced one (${full.ntheta} vs ${reduced.ntheta})`);
  const dfs = [d - 1, d];
  const llhA = reduced.llh;
  const llhB = full.llh;
  const nA = reduced.map('n');
  const nB = full.map('n');
  const Chi2 = new Float32Array(full.nvox).fill(NaN);
  const Chi2lp = new Float32Array(full.nvox).fill(NaN);
  const mask = new Float32Array(full.nvox);
  for (let i = 0; i < full.nvox; i++) {
    if (reduced.status[i] !== VoxelStatus.fitted || full.status[i] !== VoxelStatus.fitted) continue;
    if (nA[i] !== nB[i]) continue;
    const chi2 = Math.max(0, 2 * (llhB[i] - llhA[i]));
    mask[i] = 1;
    Chi2[i] = chi2;
    Chi2lp[i] = negLog10FromLn(logChisqMixtureUpper(chi2, dfs, [0.5, 0.5]));
  }
  const mixture = `50:50 chi-square(${dfs[0]}) : chi-square(${dfs[1]})`;
  return new BrainMaps(full.nvox, full.geometry, [
    { name: 'Chi2', nvol: 1, volumes: ['Chi2'], data: Chi2 },
    { name: 'Chi2lp', nvol: 1, volumes: [`-log10 p, ${mixture}`], data: Chi2lp },
    { name: 'mask', nvol: 1, volumes: ['mask'], data: mask, integer: true },
  ]);
}
