/**
 * The fitting loop of a whole-brain lme()/gls() (nlme's residual structures): each voxel is the
 * ROI fit itself, `NlmeModel` on the voxel's observed images, so every map equals what lme() or
 * gls() gives on that voxel's data. The model frame is built once per missingness pattern and
 * each voxel's response swapped into it; the record holds BLMM's maps with nlme's denominator df,
 * one map per structure parameter and, when asked, nlme's per-term F tests.
 */
import type { ContrastSpec } from '../frame/contrasts';
import type { Column, ModelFrame, Table } from '../frame/types';
import { modelFrame } from '../frame/modelframe';
import { tableOf } from '../frame/table';
import { CorStruct, type CorStructKind } from '../nlme/corstruct';
import { termColumns } from '../nlme/fixdf';
import { nlmeAnova, waldQuadratic } from '../nlme/inference';
import { NlmeModel, type NlmeKind, type NlmeOptions } from '../nlme/lme';
import { VarFunc, type VarFuncKind } from '../nlme/varfunc';
import { logFUpper, negLog10FromLn } from '../stats/distributions';
import type { ChunkResult, ChunkTask, EngineSettings } from './engine';
import { RecordLayout, VoxelStatus } from './layout';
import { writeFContrast, writeTContrast } from './statistics';

/** A whole-brain nlme model as plain data, structured-clone friendly (sent to the workers). */
export interface NlmeVoxelSpec {
  kind: NlmeKind;
  /** the formula with the random-effects terms in it */
  formula: string;
  response: string;
  REML: boolean;
  /** the table without the response's column */
  columns: [string, Column][];
  source?: string;
  /** table row of each design row (the rows the model uses when every image is observed) */
  rows: Int32Array;
  correlation?: { kind: CorStructKind; form: string; p: number; q: number };
  weights?: { kind: Exclude<VarFuncKind, 'varComb'>; form: string };
  /** nlme's anova(fit) per term at each voxel: "sequential" (nlme's default) or "marginal" */
  anova?: 'sequential' | 'marginal';
  /** varIdent's strata (volumes of the varIdent map) */
  strata: string[];
  /** the factors' contrasts by variable (lme4's `contrasts = list(...)`) */
  coding?: Record<string, ContrastSpec>;
}

/** The structure objects of a spec, as lme()/gls() take them. */
export function nlmeOptions(spec: NlmeVoxelSpec): NlmeOptions {
  const c = spec.correlation;
  const w = spec.weights;
  return {
    REML: spec.REML,
    correlation: c && new CorStruct(c.kind, c.form, c.p, c.q),
    weights: w && new VarFunc(w.kind, w.form),
  };
}

/** The fixed-effects terms nlme's anova() tests, in its order. */
export const anovaTerms = (frame: ModelFrame): string[] => termColumns(frame).map((t) => t.name);

/**
 * The maps an nlme model adds to BLMM's: one per correlation parameter (Phi, Phi1, Theta1, Rho),
 * the variance function's (varIdent: a volume per stratum, the reference at 1; power; expon) and
 * the per-term F tests (anovaF, anovaFlp = -log10 p, anovaF_df = denominator df).
 */
export function nlmeExtraFields(spec: NlmeVoxelSpec, terms: string[]): { name: string; volumes: string[] }[] {
  const out: { name: string; volumes: string[] }[] = [];
  const c = spec.correlation;
  if (c) {
    const names =
      c.kind === 'corCompSymm'
        ? ['Rho']
        : c.kind === 'corAR1'
          ? ['Phi']
          : [...Array.from({ length: c.p }, (_, i) => `Phi${i + 1}`), ...Array.from({ length: c.q }, (_, i) => `Theta${i + 1}`)];
    for (const n of names) out.push({ name: n, volumes: [n] });
  }
  const w = spec.weights;
  if (w)
    out.push(
      w.kind === 'varIdent'
        ? { name: 'varIdent', volumes: spec.strata }
        : { name: w.kind === 'varPower' ? 'power' : 'expon', volumes: [w.kind === 'varPower' ? 'power' : 'expon'] },
    );
  if (spec.anova) for (const name of ['anovaF', 'anovaFlp', 'anovaF_df']) out.push({ name, volumes: terms });
  return out;
}

/** The model frame of one missingness pattern, with its image per row. */
interface Pattern {
  frame: ModelFrame;
  images: Int32Array;
}

const PATTERN_CACHE = 32;

export class NlmeChunkFitter {
  readonly layout: RecordLayout;
  private readonly table: Table;
  private readonly options: NlmeOptions;
  private readonly imageOfRow: Int32Array;
  private readonly patterns = new Map<string, Pattern | null>();
  private readonly full: Pattern;
  private readonly terms: string[];
  /** the residual structure's parameters (compared fits count them with theta) */
  readonly structureParameters: number;

  constructor(
    private readonly spec: NlmeVoxelSpec,
    rowImage: Int32Array,
    private readonly settings: EngineSettings,
  ) {
    this.table = tableOf(new Map(spec.columns), spec.source);
    this.options = nlmeOptions(spec);
    this.imageOfRow = new Int32Array(this.table.nrows).fill(-1);
    spec.rows.forEach((r, i) => (this.imageOfRow[r] = rowImage[i]));
    this.full = this.pattern(spec.rows)!;
    this.terms = anovaTerms(this.full.frame);
    const extra = nlmeExtraFields(spec, this.terms);
    this.layout = new RecordLayout(this.full.frame.xNames, settings.dNames, settings.contrasts, extra);
    const structureVolumes = extra.filter((f) => !f.name.startsWith('anova')).reduce((a, f) => a + f.volumes.length, 0);
    this.structureParameters = spec.weights?.kind === 'varIdent' ? structureVolumes - 1 : structureVolumes;
  }

  /** The model frame over table rows `rows` (null where its fixed effects differ from the full design's: rank deficient). */
  private pattern(rows: Int32Array): Pattern | null {
    const y = new Float64Array(this.table.nrows).fill(NaN);
    for (const r of rows) y[r] = 0;
    const withY = new Map<string, Column>(this.spec.columns);
    withY.set(this.spec.response, { kind: 'numeric', values: y });
    const frame = modelFrame(this.spec.formula, tableOf(withY, this.spec.source), { contrasts: this.spec.coding });
    if (this.full && frame.xNames.join('\u0000') !== this.full.frame.xNames.join('\u0000')) return null;
    return { frame, images: Int32Array.from(frame.rows, (r) => this.imageOfRow[r]) };
  }

  process(task: ChunkTask): ChunkResult {
    const { start, width, Y, stride, offset, analysis } = task;
    const records = new Float64Array(width * this.layout.size).fill(NaN);
    const status = new Uint8Array(width).fill(VoxelStatus.outsideMask);
    let evaluations = 0;
    const rows = this.spec.rows;
    const zeroMissing = this.settings.zeroIsMissing;
    for (let c = 0; c < width; c++) {
      if (analysis && !analysis[c]) continue;
      const observed: number[] = [];
      let infinite = false;
      let varies = false;
      let first = NaN;
      for (const r of rows) {
        const y = Y[this.imageOfRow[r] * stride + offset + c];
        if (y !== y || (zeroMissing && y === 0)) continue;
        if (!Number.isFinite(y)) infinite = true;
        if (observed.length === 0) first = y;
        else if (y !== first) varies = true;
        observed.push(r);
      }
      if (observed.length === 0) status[c] = VoxelStatus.noData;
      else if (observed.length < this.settings.minN) status[c] = VoxelStatus.tooFewObservations;
      else if (infinite) status[c] = VoxelStatus.nonFinite;
      else if (!varies) status[c] = VoxelStatus.constant;
      else {
        const pattern = observed.length === rows.length ? this.full : this.cachedPattern(Int32Array.from(observed));
        if (!pattern) {
          status[c] = VoxelStatus.rankDeficient;
          continue;
        }
        const y = Float64Array.from(pattern.images, (img) => Y[img * stride + offset + c]);
        let model: NlmeModel;
        try {
          model = new NlmeModel(this.spec.kind, { ...pattern.frame, y }, this.table, this.options);
        } catch {
          status[c] = VoxelStatus.fitFailed;
          continue;
        }
        evaluations += model.optimizer.evaluations;
        this.writeRecord(model, records, c * this.layout.size);
        status[c] = VoxelStatus.fitted;
      }
    }
    return { start, width, records, status, evaluations, crowded: 0 };
  }

  private cachedPattern(rows: Int32Array): Pattern | null {
    const key = Buffer.from(rows.buffer, rows.byteOffset, rows.byteLength).toString('latin1');
    let pattern = this.patterns.get(key);
    if (pattern === undefined) {
      pattern = this.pattern(rows);
      if (this.patterns.size >= PATTERN_CACHE) this.patterns.delete(this.patterns.keys().next().value as string);
    } else this.patterns.delete(key);
    this.patterns.set(key, pattern);
    return pattern;
  }

  private writeRecord(model: NlmeModel, records: Float64Array, at: number): void {
    const L = this.layout;
    const off = (name: string) => at + L.field(name).offset;
    records.set(model.beta, off('beta'));
    records[off('sigma2')] = model.sigma * model.sigma;
    records[off('llh')] = model.logLik();
    records[off('n')] = model.n;
    // D = lambda lambda' per term, vech, terms in formula order (the model's are in lme4's)
    let d = off('D');
    for (const re of model.frame.reTerms) {
      const term = model.terms.find((t) => t.group === re.group && t.names.join('\u0000') === re.names.join('\u0000'))!;
      const cov = term.covariance(1);
      const k = term.k;
      for (let j = 0; j < k; j++) for (let i = j; i < k; i++) records[d++] = cov[i + j * k];
    }
    const p = model.p;
    const V = model.testCovariance();
    const beta = model.beta;
    // nlme's denominator df of a contrast: its coefficients' (nlme requires them equal; the smallest here)
    const dfOf = (rows: number[][]) => Math.min(...rows.flatMap((r) => r.flatMap((v, j) => (v !== 0 ? [model.fixDF.X[j]] : []))));
    L.tContrasts.forEach((con, i) => {
      const l = con.rows[0];
      let estimate = 0;
      let variance = 0;
      for (let a = 0; a < p; a++) {
        estimate += l[a] * beta[a];
        for (let b = 0; b < p; b++) variance += l[a] * V[a + b * p] * l[b];
      }
      writeTContrast(L, records, at, i, { estimate, variance, df: dfOf(con.rows) });
    });
    L.fContrasts.forEach((con, i) => {
      const q = con.rows.length;
      const F =
        waldQuadratic(
          V,
          p,
          con.rows.map((r) => Float64Array.from(r)),
          beta,
        ) / q;
      const denDF = dfOf(con.rows);
      writeFContrast(L, records, at, i, { F, denDF, negLog10P: negLog10FromLn(logFUpper(F, q, denDF)) });
    });
    const structure = model.residualStructure;
    const cor = model.corStruct();
    if (structure.correlation) for (const [name, value] of Object.entries(cor)) records[off(name)] = value;
    const variance = structure.variance;
    if (variance) {
      const printed = variance.printed(structure.variancePart(model.structureParameters));
      if (variance.kind === 'varIdent') {
        this.spec.strata.forEach((s, v) => {
          const k = printed.names.indexOf(s);
          records[off('varIdent') + v] = k >= 0 ? printed.values[k] : NaN;
        });
      } else records[off(variance.kind === 'varPower' ? 'power' : 'expon')] = printed.values[0];
    }
    if (this.spec.anova) {
      const rows = nlmeAnova(model, { type: this.spec.anova }).rows;
      rows.forEach((row, v) => {
        records[off('anovaF') + v] = row.F;
        records[off('anovaFlp') + v] = negLog10FromLn(logFUpper(row.F, row.numDF, row.denDF));
        records[off('anovaF_df') + v] = row.denDF;
      });
    }
  }
}
