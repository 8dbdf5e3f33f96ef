/**
 * Estimated marginal means as R's emmeans computes and prints them: a reference grid of every
 * combination of the model's factor levels with numeric covariates at their means, each cell's
 * prediction a linear function l'beta of the fixed effects; the means of the `specs` factors
 * average the cells over the other factors with equal weights. Contrasts of the means (pairwise,
 * effects, custom) are tested with the mixed model's denominator df (Satterthwaite or
 * Kenward-Roger) and a multiplicity adjustment per family (Tukey, Holm, Bonferroni, Sidak, FDR).
 */
import { formatColumn } from '../display/format';
import { escapeHtml } from '../display/html';
import type { MimeBundle } from '../display/mime';
import { roundTo, zapsmall } from '../display/coefmat';
import { ModelError } from '../errors';
import { isNumberLabel } from '../frame/factor';
import { tableOf } from '../frame/table';
import type { Column } from '../frame/types';
import type { LinearMixedModel } from '../lmm/model';
import type { FittedModel } from './anova';
import { isMixedModel } from './contrast';
import { fUpper, tQuantile, tTwoSided } from '../stats/distributions';
import { pmvt } from '../stats/mvt';
import { kenwardRoger } from './kenward-roger';
import { satterthwaite1D } from '../lmm/satterthwaite';
import { bilinear, quadraticForm } from '../stats/small-dense';
import { ptukey, ptukeyUpper, qtukey } from './tukey';

export type DfMethod = 'satterthwaite' | 'kenward-roger' | 'asymptotic';
export type Adjustment = 'tukey' | 'dunnettx' | 'mvt' | 'holm' | 'bonferroni' | 'sidak' | 'fdr' | 'none';

/** emmeans's contrast families: all pairs, each level against the first or the last (control), consecutive levels, effects. */
export type ContrastMethod = 'pairwise' | 'revpairwise' | 'trt.vs.ctrl' | 'trt.vs.ctrlk' | 'consec' | 'eff';

export interface EmmeansOptions {
  /** factors whose levels each get their own table (emmeans's `by`, or `~ a | b`) */
  by?: string | string[];
  /** denominator df of mixed models: Satterthwaite (default), Kenward-Roger (with its adjusted covariance), or none (z) */
  df?: DfMethod;
  /** confidence level of the intervals (default 0.95) */
  level?: number;
  /** values of numeric covariates in the reference grid (default: their means) */
  at?: Record<string, number>;
}

/** The linear functions, estimates, variances and df that every emmeans table is made of. */
interface Estimates {
  L: Float64Array[];
  /** the fixed effects' covariance the standard errors use */
  vcov: Float64Array;
  estimate: number[];
  se: number[];
  df: number[];
}

/** The fixed-effects covariance and the df of a contrast l under the chosen method. */
interface Inference {
  vcov: Float64Array;
  df(l: Float64Array): number;
  method?: DfMethod;
}

function inferenceFor(model: FittedModel, method: DfMethod): Inference {
  if (!isMixedModel(model)) {
    const df = model.n - model.p;
    return { vcov: model.vcovMatrix(), df: () => df };
  }
  if (method === 'asymptotic') return { vcov: model.vcovMatrix(), df: () => Infinity, method };
  if (method === 'kenward-roger') {
    const kr = kenwardRoger(model as LinearMixedModel);
    return { vcov: kr.vcovAdjusted, df: (l) => kr.ddf([l]), method };
  }
  if (method !== 'satterthwaite') throw new ModelError(`unknown df method '${String(method)}': use 'satterthwaite', 'kenward-roger' or 'asymptotic'`);
  return { vcov: model.vcovMatrix(), df: (l) => satterthwaite1D(model, l).df, method };
}

function estimatesOf(model: FittedModel, inference: Inference, L: Float64Array[]): Estimates {
  const p = model.p;
  return {
    L,
    vcov: inference.vcov,
    estimate: L.map((l) => l.reduce((s, v, j) => s + v * model.beta[j], 0)),
    se: L.map((l) => Math.sqrt(quadraticForm(l, inference.vcov, p))),
    df: L.map((l) => inference.df(l)),
  };
}

/** Parses emmeans's specs: "Machine", ["recipe", "temperature"], "~ temperature | recipe", "recipe * temperature". */
function parseSpecs(specs: string | string[], by: string | string[] | undefined): { factors: string[]; by: string[] } {
  const split = (s: string) =>
    s
      .split(/[*+:]/)
      .map((v) => v.trim())
      .filter(Boolean);
  const byList = by === undefined ? [] : [by].flat();
  if (Array.isArray(specs)) return { factors: specs, by: byList };
  const [left, right] = specs.replace(/^\s*~/, '').split('|');
  return { factors: split(left), by: [...(right ? split(right) : []), ...byList] };
}

/** The reference grid: every combination of factor levels (the first factor varying fastest), covariates fixed. */
function referenceGrid(model: FittedModel, at: Record<string, number>) {
  const grid = model.frame.gridColumns;
  if (!grid) throw new ModelError('this model has no reference grid (its frame does not record the data columns)');
  const factors = Object.entries(grid).flatMap(([name, g]) => ('levels' in g ? [{ name, levels: g.levels }] : []));
  for (const name of Object.keys(at)) {
    const g = grid[name];
    if (!g || 'levels' in g) throw new ModelError(`'at' names '${name}', which is not a numeric covariate of the model`);
  }
  const size = factors.reduce((s, f) => s * f.levels.length, 1);
  const codes = factors.map(() => new Int32Array(size));
  for (let r = 0, stride = 1; r < factors.length; stride *= factors[r].levels.length, r++)
    for (let i = 0; i < size; i++) codes[r][i] = Math.floor(i / stride) % factors[r].levels.length;
  const columns = new Map<string, Column>();
  for (const [name, g] of Object.entries(grid)) {
    const f = factors.findIndex((x) => x.name === name);
    columns.set(
      name,
      f >= 0
        ? { kind: 'label', values: Array.from(codes[f], (c) => factors[f].levels[c]) }
        : { kind: 'numeric', values: new Float64Array(size).fill(at[name] ?? (g as { mean: number }).mean) },
    );
  }
  const X = model.frame.design.matrix(tableOf(columns));
  return { factors, codes, size, X };
}

/** One table row's factor levels, by variable. */
type Levels = Record<string, string>;
/** A summary row: the levels, then the numbers. */
type Row<K extends string> = Record<string, string | number> & Record<K, number>;

/** A table of estimates in emmeans's layout: label columns, then numbers; by-groups printed apart. */
interface PrintedTable {
  labels: string[];
  rows: Levels[];
  estName: string;
  numbers: [string, number[]][];
  by: string[];
  notes: string[];
}

/** emmeans's .opt.dig: digits enough to show an estimate to the precision of +-2 SE. */
function optimalDigits(estimate: number[], se: number[]): number {
  let digits = 3;
  estimate.forEach((e, i) => {
    const x = [e - 2 * se[i], e, e + 2 * se[i]];
    const big = Math.max(...x.map(Math.abs));
    const dz = (Math.max(...x) - Math.min(...x)) / big;
    const zapped = zapsmall([dz, Math.min(...x) / big, Math.max(...x) / big], 8)[0];
    const zz = Math.round(1.51 - Math.log10(zapped));
    if (Number.isFinite(zz)) digits = Math.max(digits, zz);
  });
  return digits;
}

/** print.summary_emm: the cells of every column as strings, and which are right-justified. */
function formatCells(t: PrintedTable): { header: string[]; cells: string[][]; right: boolean[] } {
  const estimate = t.numbers.find(([n]) => n === t.estName)![1];
  const se = t.numbers.find(([n]) => n === 'SE')?.[1];
  const digits = se ? optimalDigits(estimate, se) : 7;
  const header = [...t.labels];
  const cells: string[][] = t.labels.map((name) => t.rows.map((r) => r[name]));
  const right = t.labels.map(() => false);
  for (const [name, raw] of t.numbers) {
    let values = zapsmall(raw, 7);
    let strings: string[];
    if (name === 't.ratio' || name === 'z.ratio') strings = values.map((v) => roundTo(v, 3).toFixed(3));
    else if (name === 'p.value') strings = values.map((v) => (roundTo(v, 4) === 0 ? '<.0001' : roundTo(v, 4).toFixed(4)));
    else {
      if (name === 'df') values = values.map((v) => roundTo(v, 2));
      strings = formatColumn(values, digits);
    }
    header.push(name);
    cells.push(strings);
    right.push(true);
  }
  return { header, cells, right };
}

function renderText(t: PrintedTable): string {
  const { header, cells, right } = formatCells(t);
  const widths = header.map((h, j) => Math.max(h.length, ...cells[j].map((c) => c.length)));
  const printed = header.map((_, j) => j).filter((j) => !t.by.includes(header[j]));
  const pad = (s: string, j: number) => (right[j] ? s.padStart(widths[j]) : s.padEnd(widths[j]));
  const line = (cell: (j: number) => string) => (' ' + printed.map((j) => pad(cell(j), j)).join(' ')).trimEnd();
  const lines: string[] = [];
  for (const [label, rows] of groupRows(t.rows, t.by)) {
    if (label) lines.push(`${label}:`);
    lines.push(line((j) => header[j]));
    for (const i of rows) lines.push(line((j) => cells[j][i]));
    lines.push('');
  }
  return [...lines, ...t.notes].join('\n');
}

function renderHtml(t: PrintedTable): string {
  const { header, cells, right } = formatCells(t);
  const printed = header.map((_, j) => j).filter((j) => !t.by.includes(header[j]));
  const style = (j: number) => (right[j] ? ' style="text-align: right"' : '');
  const parts = groupRows(t.rows, t.by).map(([label, rows]) => {
    const head = `<tr>${printed.map((j) => `<th${style(j)}>${escapeHtml(header[j])}</th>`).join('')}</tr>`;
    const body = rows.map((i) => `<tr>${printed.map((j) => `<td${style(j)}>${escapeHtml(cells[j][i])}</td>`).join('')}</tr>`).join('');
    return `${label ? `<p><b>${escapeHtml(label)}</b></p>` : ''}<table><thead>${head}</thead><tbody>${body}</tbody></table>`;
  });
  return `<div class="neurolmm-emmeans">${parts.join('')}<p>${t.notes.map(escapeHtml).join('<br>')}</p></div>`;
}

/** Rows grouped by their by-variables' levels ("recipe = A"), groups in order of first appearance. */
function groupRows(rows: Levels[], by: string[]): [string, number[]][] {
  const groups = new Map<string, number[]>();
  rows.forEach((r, i) => {
    const label = by.map((b) => `${b} = ${r[b]}`).join(', ');
    groups.set(label, [...(groups.get(label) ?? []), i]);
  });
  return [...groups];
}

function dfNote(inference: Inference): string[] {
  return inference.method ? [`Degrees-of-freedom method: ${inference.method}`] : [];
}

/** emmeans's means of one model: `emmeans(fit, specs)`. */
export class EmmGrid {
  constructor(
    readonly model: FittedModel,
    /** the factors of each mean (specs, then by) */
    readonly factors: string[],
    readonly by: string[],
    /** the factor levels of each mean */
    readonly levels: Levels[],
    readonly estimates: Estimates,
    readonly level: number,
    private readonly inference: Inference,
    /** factors averaged over */
    readonly averagedOver: string[],
    /** emmeans's messages when the means were made (not part of the printed table) */
    readonly messages: string[],
  ) {}

  /** The rows as emmeans's summary: levels, emmean, SE, df, lower.CL, upper.CL. */
  summary(): Row<'emmean' | 'SE' | 'df' | 'lowerCL' | 'upperCL'>[] {
    const { estimate, se, df } = this.estimates;
    return this.levels.map((lv, i) => {
      const half = tQuantile((1 + this.level) / 2, df[i]) * se[i];
      return { ...lv, emmean: estimate[i], SE: se[i], df: df[i], lowerCL: estimate[i] - half, upperCL: estimate[i] + half };
    });
  }

  private table(): PrintedTable {
    const s = this.summary();
    return {
      labels: this.factors,
      rows: this.levels,
      estName: 'emmean',
      numbers: [
        ['emmean', s.map((r) => r.emmean)],
        ['SE', s.map((r) => r.SE)],
        ['df', s.map((r) => r.df)],
        ['lower.CL', s.map((r) => r.lowerCL)],
        ['upper.CL', s.map((r) => r.upperCL)],
      ],
      by: this.by,
      notes: [
        ...(this.averagedOver.length ? [`Results are averaged over the levels of: ${this.averagedOver.join(', ')}`] : []),
        ...dfNote(this.inference),
        `Confidence level used: ${this.level}`,
      ],
    };
  }

  /**
   * Contrasts of the means within each by-group: 'pairwise' (A - B, Tukey-adjusted by default),
   * 'revpairwise' (B - A), 'trt.vs.ctrl' (B - A, C - A: each level against the first, with
   * Dunnett's approximation 'dunnettx'), 'trt.vs.ctrlk' (against the last), 'consec' (B - A,
   * C - B, with the multivariate t, 'mvt'), 'eff' (each mean minus the average of all, FDR) or
   * named coefficient vectors over the means of a group ({ AvsBC: [1, -0.5, -0.5] }, unadjusted).
   */
  contrast(method: ContrastMethod | Record<string, number[]>, options: { adjust?: Adjustment } = {}): EmmContrasts {
    const specFactors = this.factors.filter((f) => !this.by.includes(f));
    // emmeans prefixes numeric levels with their factor's name ("temperature175 - temperature185")
    const numeric = new Set(specFactors.filter((f) => this.levels.every((lv) => isNumberLabel(lv[f]))));
    const label = (lv: Levels) => specFactors.map((f) => (numeric.has(f) ? f + lv[f] : lv[f])).join(' ');
    const groups = groupRows(this.levels, this.by);
    const defaultAdjust: Adjustment = typeof method === 'string' ? DEFAULT_ADJUSTMENT[method] : 'none';
    let adjust = options.adjust ?? defaultAdjust;
    const notes: string[] = [];
    if (adjust === 'tukey' && method !== 'pairwise' && method !== 'revpairwise') {
      notes.push('Note: adjust = "tukey" was changed to "sidak"', 'because "tukey" is only appropriate for one set of pairwise comparisons');
      adjust = 'sidak';
    }
    const names: string[] = [];
    const rows: Levels[] = [];
    const coefficients: { group: number[]; weights: number[] }[] = [];
    for (const [, members] of groups) {
      const k = members.length;
      const add = (name: string, weights: number[]) => {
        names.push(name);
        rows.push({ contrast: name, ...Object.fromEntries(this.by.map((b) => [b, this.levels[members[0]][b]])) });
        coefficients.push({ group: members, weights });
      };
      if (method === 'pairwise' || method === 'revpairwise') {
        for (let a = 0; a < k; a++)
          for (let b = a + 1; b < k; b++) {
            const w = new Array<number>(k).fill(0);
            if (method === 'pairwise') {
              w[a] = 1;
              w[b] = -1;
              add(`${label(this.levels[members[a]])} - ${label(this.levels[members[b]])}`, w);
            }
          }
        if (method === 'revpairwise')
          for (let b = 1; b < k; b++)
            for (let a = 0; a < b; a++) {
              const w = new Array<number>(k).fill(0);
              w[b] = 1;
              w[a] = -1;
              add(`${label(this.levels[members[b]])} - ${label(this.levels[members[a]])}`, w);
            }
      } else if (method === 'trt.vs.ctrl' || method === 'trt.vs.ctrlk' || method === 'consec') {
        const control = method === 'trt.vs.ctrlk' ? k - 1 : 0;
        for (let a = 0; a < k; a++) {
          if (method !== 'consec' && a === control) continue;
          if (method === 'consec' && a === 0) continue;
          const b = method === 'consec' ? a - 1 : control;
          const w = new Array<number>(k).fill(0);
          w[a] = 1;
          w[b] = -1;
          add(`${label(this.levels[members[a]])} - ${label(this.levels[members[b]])}`, w);
        }
      } else if (method === 'eff') {
        for (let a = 0; a < k; a++)
          add(
            `${label(this.levels[members[a]])} effect`,
            Array.from({ length: k }, (_, i) => (i === a ? 1 : 0) - 1 / k),
          );
      } else if (typeof method === 'object' && method !== null) {
        for (const [name, w] of Object.entries(method)) {
          if (!Array.isArray(w) || w.length !== k)
            throw new ModelError(
              `contrast '${name}' has ${Array.isArray(w) ? w.length : 0} coefficients but there are ${k} means (${members.map((i) => label(this.levels[i])).join(', ')})`,
            );
          add(name, w);
        }
      } else
        throw new ModelError(
          `unknown contrast method '${String(method)}': use ${Object.keys(DEFAULT_ADJUSTMENT)
            .map((m) => `'${m}'`)
            .join(', ')} or named coefficient vectors`,
        );
    }
    const p = this.model.p;
    const L = coefficients.map(({ group, weights }) => {
      const l = new Float64Array(p);
      group.forEach((i, m) => this.estimates.L[i].forEach((v, j) => (l[j] += weights[m] * v)));
      return l;
    });
    const familyOf = rows.map((r) => this.by.map((b) => r[b]).join('\u0000'));
    const familySize = new Map<string, number>();
    familyOf.forEach((f) => familySize.set(f, (familySize.get(f) ?? 0) + 1));
    const nmeans = groups[0][1].length;
    return new EmmContrasts(
      rows,
      this.by,
      estimatesOf(this.model, this.inference, L),
      adjust,
      familyOf,
      nmeans,
      this.level,
      [...(this.averagedOver.length ? [`Results are averaged over the levels of: ${this.averagedOver.join(', ')}`] : []), ...dfNote(this.inference)],
      notes,
      Math.max(...familySize.values()),
    );
  }

  /** Pairwise differences of the means (emmeans's pairs()), Tukey-adjusted unless `adjust` says otherwise. */
  pairs(options: { adjust?: Adjustment; reverse?: boolean } = {}): EmmContrasts {
    return this.contrast(options.reverse ? 'revpairwise' : 'pairwise', options);
  }

  toString(): string {
    return renderText(this.table());
  }

  toMimeBundle(): MimeBundle {
    const t = this.table();
    return { 'text/plain': renderText(t), 'text/html': renderHtml(t) };
  }

  toJSON() {
    return { factors: this.factors, by: this.by, level: this.level, rows: this.summary() };
  }
}

/** emmeans's default adjustment of each contrast family. */
const DEFAULT_ADJUSTMENT: Record<ContrastMethod, Adjustment> = {
  pairwise: 'tukey',
  revpairwise: 'tukey',
  'trt.vs.ctrl': 'dunnettx',
  'trt.vs.ctrlk': 'dunnettx',
  consec: 'mvt',
  eff: 'fdr',
};

/**
 * emmeans's approximation to Dunnett's distribution for k comparisons (its .pdunnx): P(|T_i| < x
 * for all i), a mix of the studentized range of (1 + sqrt(1 + 8k)) / 2 means and Sidak's bound.
 */
function pdunnettx(x: number, k: number, df: number): number {
  const tukeyWeight = (k - 1) / k;
  const tukey = ptukey(Math.SQRT2 * x, (1 + Math.sqrt(1 + 8 * k)) / 2, df);
  const sidak = (1 - fUpper(x * x, 1, df)) ** k;
  return tukeyWeight * tukey + (1 - tukeyWeight) * sidak;
}

/** emmeans's .fix.df for mvtnorm, which takes integer df: rounded down (from + 0.25), 0 (normal) beyond 9999. */
function mvtDf(df: number): number {
  if (!(df <= 9999)) return 0;
  return Math.floor(Math.max(1, df) + 0.25);
}

/**
 * The x with f(x) = level for f, the probability that k two-sided t statistics on df (0: normal)
 * all stay within x: between the unadjusted and the Bonferroni quantiles, by bisection to 1e-7.
 */
function criticalValue(f: (x: number) => number, level: number, k: number, df: number): number {
  const quantile = (p: number) => tQuantile(p, df > 0 ? df : Infinity);
  let lo = quantile((1 + level) / 2);
  let hi = quantile(1 - (1 - level) / (2 * k));
  while (f(hi) < level && hi < 1e6) hi *= 2;
  while (hi - lo > 1e-7 * hi) {
    const mid = (lo + hi) / 2;
    if (f(mid) < level) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

/** R's p.adjust over one family of p-values. */
function adjustFamily(p: number[], method: Adjustment): number[] {
  const m = p.length;
  const order = p.map((_, i) => i).sort((a, b) => p[a] - p[b]);
  const out = new Array<number>(m);
  switch (method) {
    case 'bonferroni':
      return p.map((v) => Math.min(1, v * m));
    case 'sidak':
      return p.map((v) => 1 - (1 - v) ** m);
    case 'holm': {
      let running = 0;
      order.forEach((i, r) => (out[i] = running = Math.max(running, Math.min(1, (m - r) * p[i]))));
      return out;
    }
    case 'fdr': {
      let running = 1;
      for (let r = m - 1; r >= 0; r--) out[order[r]] = running = Math.min(running, (m / (r + 1)) * p[order[r]]);
      return out;
    }
    default:
      return p;
  }
}

/** emmeans's contrasts of means (pairs(), contrast()): estimate, SE, df, t ratio, adjusted p. */
export class EmmContrasts {
  constructor(
    readonly rows: Levels[],
    readonly by: string[],
    readonly estimates: Estimates,
    readonly adjust: Adjustment,
    private readonly family: string[],
    /** the number of means compared (Tukey's studentized range) */
    private readonly nmeans: number,
    readonly level: number,
    private readonly baseNotes: string[],
    private readonly changeNotes: string[],
    private readonly familySize: number,
  ) {}

  /** The rows: contrast, by levels, estimate, SE, df, t ratio, adjusted p-value. */
  summary(): Row<'estimate' | 'SE' | 'df' | 'tRatio' | 'p'>[] {
    const { estimate, se, df } = this.estimates;
    const t = estimate.map((e, i) => e / se[i]);
    const raw = t.map((x, i) => (this.adjust === 'tukey' ? ptukeyUpper(Math.abs(x) * Math.SQRT2, this.nmeans, df[i]) : tTwoSided(x, df[i])));
    const adjusted = new Array<number>(raw.length);
    for (const members of this.families()) {
      const m = members.length;
      if (m > 1 && this.adjust === 'dunnettx') for (const i of members) adjusted[i] = 1 - pdunnettx(Math.abs(t[i]), m, df[i]);
      else if (m > 1 && this.adjust === 'mvt') {
        const corr = this.correlation(members);
        for (const i of members) {
          const h = Math.abs(t[i]);
          adjusted[i] = 1 - pmvt(new Array(m).fill(-h), new Array(m).fill(h), corr, mvtDf(df[i])).value;
        }
      } else
        adjustFamily(
          members.map((i) => raw[i]),
          this.adjust,
        ).forEach((v, j) => (adjusted[members[j]] = v));
    }
    return this.rows.map((r, i) => ({ ...r, estimate: estimate[i], SE: se[i], df: df[i], tRatio: t[i], p: adjusted[i] }));
  }

  /** The rows of each family (by-group). */
  private families(): number[][] {
    return [...new Set(this.family)].map((f) => this.family.flatMap((g, i) => (g === f ? [i] : [])));
  }

  /** The correlation matrix of a family's estimates (m x m, column-major). */
  private correlation(members: number[]): Float64Array {
    const { L, vcov, se } = this.estimates;
    const p = L[0].length;
    const m = members.length;
    const out = new Float64Array(m * m);
    members.forEach((i, a) => members.forEach((j, b) => (out[a + b * m] = bilinear(L[i], vcov, L[j], p) / (se[i] * se[j]))));
    return out;
  }

  /** Confidence intervals, adjusted as emmeans adjusts them (Tukey, Dunnett's approximation, the multivariate t; Bonferroni in place of Holm and FDR). */
  confint(): Row<'estimate' | 'SE' | 'df' | 'lowerCL' | 'upperCL'>[] {
    const { estimate, se, df } = this.estimates;
    const m = this.familySize;
    // one studentized-range quantile per distinct df (usually one per table)
    const tukeyQuantiles = new Map<number, number>();
    const tukeyQuantile = (d: number) => tukeyQuantiles.get(d) ?? tukeyQuantiles.set(d, qtukey(this.level, this.nmeans, d)).get(d)!;
    // Dunnett's approximation and the multivariate t: one critical value per family and df
    const critical = new Array<number>(estimate.length).fill(NaN);
    if (this.ciAdjust === 'dunnettx' || this.ciAdjust === 'mvt')
      for (const members of this.families()) {
        const corr = this.ciAdjust === 'mvt' ? this.correlation(members) : undefined;
        const values = new Map<number, number>();
        for (const i of members) {
          const d = this.ciAdjust === 'mvt' ? mvtDf(df[i]) : df[i];
          let x = values.get(d);
          if (x === undefined) {
            const k = members.length;
            x =
              k === 1
                ? tQuantile((1 + this.level) / 2, df[i])
                : corr
                  ? criticalValue((h) => pmvt(new Array(k).fill(-h), new Array(k).fill(h), corr, d).value, this.level, k, d)
                  : criticalValue((h) => pdunnettx(h, k, d), this.level, k, d);
            values.set(d, x);
          }
          critical[i] = x;
        }
      }
    const half = (i: number) => {
      switch (this.ciAdjust) {
        case 'dunnettx':
        case 'mvt':
          return critical[i] * se[i];
        case 'tukey':
          return (tukeyQuantile(df[i]) / Math.SQRT2) * se[i];
        case 'sidak':
          return tQuantile((1 + this.level ** (1 / m)) / 2, df[i]) * se[i];
        case 'bonferroni':
          return tQuantile(1 - (1 - this.level) / (2 * m), df[i]) * se[i];
        default:
          return tQuantile((1 + this.level) / 2, df[i]) * se[i];
      }
    };
    return this.rows.map((r, i) => ({ ...r, estimate: estimate[i], SE: se[i], df: df[i], lowerCL: estimate[i] - half(i), upperCL: estimate[i] + half(i) }));
  }

  private get ciAdjust(): Adjustment {
    return this.adjust === 'holm' || this.adjust === 'fdr' ? 'bonferroni' : this.adjust;
  }

  private adjustmentNote(what: 'P value' | 'Conf-level'): string[] {
    const method = what === 'P value' ? this.adjust : this.ciAdjust;
    if (method === 'none' || this.familySize < 2) return [];
    return method === 'tukey'
      ? [`${what} adjustment: tukey method for comparing a family of ${this.nmeans} estimates`]
      : [`${what} adjustment: ${method} method for ${this.familySize} ${what === 'P value' ? 'tests' : 'estimates'}`];
  }

  private table(intervals: boolean): PrintedTable {
    const numbers: [string, number[]][] = intervals
      ? (() => {
          const c = this.confint();
          return [
            ['estimate', c.map((r) => r.estimate)],
            ['SE', c.map((r) => r.SE)],
            ['df', c.map((r) => r.df)],
            ['lower.CL', c.map((r) => r.lowerCL)],
            ['upper.CL', c.map((r) => r.upperCL)],
          ];
        })()
      : (() => {
          const s = this.summary();
          return [
            ['estimate', s.map((r) => r.estimate)],
            ['SE', s.map((r) => r.SE)],
            ['df', s.map((r) => r.df)],
            ['t.ratio', s.map((r) => r.tRatio)],
            ['p.value', s.map((r) => r.p)],
          ];
        })();
    return {
      labels: ['contrast', ...this.by],
      rows: this.rows,
      estName: 'estimate',
      numbers,
      by: this.by,
      notes: [
        ...this.baseNotes,
        ...(intervals ? [`Confidence level used: ${this.level}`, ...this.adjustmentNote('Conf-level')] : this.adjustmentNote('P value')),
        ...this.changeNotes,
      ],
    };
  }

  toString(): string {
    return renderText(this.table(false));
  }

  /** The table with confidence intervals, as emmeans's confint(pairs(...)) prints it. */
  confintText(): string {
    return renderText(this.table(true));
  }

  toMimeBundle(): MimeBundle {
    const t = this.table(false);
    return { 'text/plain': renderText(t), 'text/html': renderHtml(t) };
  }

  toJSON() {
    return { adjust: this.adjust, level: this.level, rows: this.summary(), intervals: this.confint() };
  }
}

/**
 * emmeans(fit, specs, options): the estimated marginal means of the `specs` factors ("Machine",
 * "~ temperature | recipe", ["recipe", "temperature"]), averaged with equal weights over the
 * model's other factors, numeric covariates at their means (or `options.at`).
 */
export function emmeans(model: FittedModel, specs: string | string[], options: EmmeansOptions = {}): EmmGrid {
  const { factors: specFactors, by } = parseSpecs(specs, options.by);
  const level = options.level ?? 0.95;
  const grid = referenceGrid(model, options.at ?? {});
  const wanted = [...specFactors, ...by];
  if (wanted.length === 0) throw new ModelError('emmeans needs at least one factor in specs');
  const positions = wanted.map((name) => {
    const f = grid.factors.findIndex((x) => x.name === name);
    if (f < 0) throw new ModelError(`'${name}' is not a factor of the model; its factors are: ${grid.factors.map((x) => x.name).join(', ') || 'none'}`);
    return f;
  });
  if (new Set(positions).size !== positions.length) throw new ModelError(`specs name a factor twice: ${wanted.join(', ')}`);
  // the means' cells: wanted factors' levels, the first varying fastest
  const sizes = positions.map((f) => grid.factors[f].levels.length);
  const cells = sizes.reduce((a, b) => a * b, 1);
  const p = model.p;
  const L = Array.from({ length: cells }, () => new Float64Array(p));
  const counts = new Float64Array(cells);
  for (let i = 0; i < grid.size; i++) {
    let cell = 0;
    for (let k = positions.length - 1; k >= 0; k--) cell = cell * sizes[k] + grid.codes[positions[k]][i];
    counts[cell]++;
    for (let j = 0; j < p; j++) L[cell][j] += grid.X[i + j * grid.size];
  }
  L.forEach((l, c) => l.forEach((_, j) => (l[j] /= counts[c])));
  const levels = Array.from({ length: cells }, (_, c) => {
    const lv: Levels = {};
    let rest = c;
    positions.forEach((f, k) => {
      lv[wanted[k]] = grid.factors[f].levels[rest % sizes[k]];
      rest = Math.floor(rest / sizes[k]);
    });
    return lv;
  });
  const inference = inferenceFor(model, options.df ?? 'satterthwaite');
  const averagedOver = grid.factors.map((f) => f.name).filter((name) => !wanted.includes(name));
  // emmeans's warning: a spec factor in an interaction with a factor it is averaged over
  const spec = model.frame;
  const interacting = spec.termLabels.some((t) => {
    const vars = t.split(':');
    return vars.length > 1 && vars.some((v) => specFactors.includes(v)) && vars.some((v) => !specFactors.includes(v) && grid.factors.some((f) => f.name === v));
  });
  const messages = interacting ? ['NOTE: Results may be misleading due to involvement in interactions'] : [];
  return new EmmGrid(model, wanted, by, levels, estimatesOf(model, inference, L), level, inference, averagedOver, messages);
}
